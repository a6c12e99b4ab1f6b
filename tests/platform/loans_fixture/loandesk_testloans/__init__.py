"""Installments for the automation tests: a record type with a due date and a status, and
an event when one is paid."""

from __future__ import annotations

from pathlib import Path

from loandesk import sdk

STATUSES = (("due", "待还", "Due"), ("paid", "已还", "Paid"))
SCOPES = {"post_loan_admin": "all", "finance": "all"}


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
        sdk.FieldSpec("mobile", "借款人手机", "Borrower's mobile", "mobile", read_only=True),
        sdk.FieldSpec("owner_id", "经办人", "Officer", "user", read_only=True),
        sdk.FieldSpec("org_unit_id", "所属部门", "Unit", "org_unit", read_only=True),
    )
    return sdk.RecordType(
        key="installment",
        label_zh="还款计划",
        label_en="Installment",
        model=TestInstallment,
        fields=fields,
        title_field="loan_number",
        default_scopes=SCOPES,
        default_fields={role: {"*": "view"} for role in SCOPES},
    )


PLUGIN = sdk.PluginInfo(
    name="testloans",
    title_zh="测试还款计划",
    title_en="Test installments",
    version="1.0.0",
    description_en="Installments for the automation tests.",
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
    return [sdk.EventType("installment.paid", "已还款", "Installment paid", "installment")]
