"""Installments for the automation and report tests: a record type (``test_installment``, so
that it never meets the repayment plugin's ``installment``) with a due date, a status
(due, paid, overdue), the principal still owed and the borrower's region, an event when one
is paid, and the report dataset ``testloans.installments`` (overdue rate = overdue balance /
outstanding balance, by province, month, unit, ...)."""

from __future__ import annotations

from pathlib import Path

from loandesk import sdk

STATUSES = (("due", "待还", "Due"), ("paid", "已还", "Paid"), ("overdue", "逾期", "Overdue"))
# A collector works their own cases; a risk manager watches their unit.
SCOPES = {"post_loan_admin": "all", "finance": "all", "risk_manager": "unit", "collector": "own"}


def _record_type() -> sdk.RecordType:
    from loandesk_testloans.models import TestInstallment

    fields = (
        sdk.FieldSpec("loan_number", "借据号", "Loan number", "text", read_only=True),
        sdk.FieldSpec("period", "期数", "Period", "integer", read_only=True),
        sdk.FieldSpec("due_date", "应还日", "Due date", "date", read_only=True, filterable=True),
        sdk.FieldSpec("amount", "应还金额", "Amount due", "money", read_only=True),
        sdk.FieldSpec(
            "status", "状态", "Status", "select", options=STATUSES, read_only=True, filterable=True
        ),
        sdk.FieldSpec("region", "借款人地区", "Borrower's region", "region", read_only=True),
        sdk.FieldSpec(
            "province",
            "借款人省份",
            "Borrower's province",
            "region",
            read_only=True,
            filterable=True,
        ),
        sdk.FieldSpec(
            "principal_outstanding",
            "剩余本金",
            "Principal outstanding",
            "money",
            read_only=True,
            help_zh="本期期初借据剩余本金",
            help_en="The loan's principal owed at the period's start",
        ),
        sdk.FieldSpec("days_past_due", "逾期天数", "Days past due", "integer", read_only=True),
        sdk.FieldSpec("mobile", "借款人手机", "Borrower's mobile", "mobile", read_only=True),
        sdk.FieldSpec("owner_id", "经办人", "Officer", "user", read_only=True),
        sdk.FieldSpec("org_unit_id", "所属部门", "Unit", "org_unit", read_only=True),
    )
    return sdk.RecordType(
        key="test_installment",
        label_zh="还款计划",
        label_en="Installment",
        model=TestInstallment,
        fields=fields,
        title_field="loan_number",
        default_scopes=SCOPES,
        default_fields={role: {"*": "view"} for role in SCOPES},
    )


INSTALLMENTS = sdk.Dataset(
    key="testloans.installments",
    label_zh="还款计划",
    label_en="Installments",
    record_type="test_installment",
    description_zh="每期还款计划一行；剩余本金为该期期初借据剩余本金，"
    "按应还月份汇总即当月贷款余额；逾期率 = 逾期剩余本金 / 剩余本金。",
    description_en="One row per installment; its principal outstanding is the loan's at the "
    "start of the period, so by due month the sums are that month's balance; overdue rate = "
    "principal outstanding of overdue installments / principal outstanding.",
    dimensions=(
        sdk.Dimension("province"),
        sdk.Dimension("region"),
        sdk.Dimension("due_date"),
        sdk.Dimension("status"),
        sdk.Dimension("org_unit_id"),
        sdk.Dimension("owner_id"),
    ),
    measures=(
        sdk.Measure("count", "期数", "Installments"),
        sdk.Measure("overdue_count", "逾期期数", "Overdue", "count", when=("status", ("overdue",))),
        sdk.Measure(
            "outstanding_balance",
            "剩余本金",
            "Outstanding balance",
            "sum",
            "principal_outstanding",
        ),
        sdk.Measure(
            "overdue_balance",
            "逾期剩余本金",
            "Overdue balance",
            "sum",
            "principal_outstanding",
            when=("status", ("overdue",)),
        ),
        sdk.Measure(
            "overdue_rate",
            "逾期率",
            "Overdue rate",
            "ratio",
            numerator="overdue_balance",
            denominator="outstanding_balance",
        ),
        sdk.Measure(
            "days_past_due_max", "最长逾期天数", "Most days past due", "max", "days_past_due"
        ),
    ),
)


PLUGIN = sdk.PluginInfo(
    name="testloans",
    title_zh="测试还款计划",
    title_en="Test installments",
    version="1.0.0",
    description_en="Installments for the automation and report tests.",
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    import loandesk_testloans.models  # noqa: F401  (the table joins the metadata)

    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_record_types() -> list[sdk.RecordType]:
    return [_record_type()]


@sdk.hookimpl
def loandesk_event_types() -> list[sdk.EventType]:
    return [
        sdk.EventType("test_installment.paid", "已还款", "Installment paid", "test_installment")
    ]


@sdk.hookimpl
def loandesk_report_datasets() -> list[sdk.Dataset]:
    return [INSTALLMENTS]
