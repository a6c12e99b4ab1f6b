"""Repayment (还款): loans after booking — funders, the schedule written at disbursement,
payments allocated by the product's order, reversals, the per-loan double-entry ledger, the
statement of account, and per-product reminders before and on each due date (automation rules
on the installment record type). Products come from whichever plugin answers
``loandesk_product_terms`` (and ``loandesk_product_catalogue``)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

from loandesk import sdk
from loandesk_repayment.cob_settings import RepaymentSettings

PLUGIN = sdk.PluginInfo(
    name="repayment",
    title_zh="还款管理",
    title_en="Repayment",
    version="1.0.0",
    description_zh="贷款入账、放款生成还款计划、还款按冲销顺序分配、冲正、分户账与对账单。",
    description_en="Loans: booking, the schedule at disbursement, payments allocated by the "
    "product's order, reversals, the loan ledger and the statement of account.",
    depends_on=("customers",),
    settings_schema=RepaymentSettings,
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    import loandesk_repayment.bank_models
    import loandesk_repayment.cob_models
    import loandesk_repayment.early_models
    import loandesk_repayment.models  # noqa: F401  (the tables join the metadata)

    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_loan_book() -> sdk.LoanBook:
    from loandesk_repayment.book import RepaymentLoanBook

    return RepaymentLoanBook()


@sdk.hookimpl
def loandesk_record_types() -> list[sdk.RecordType]:
    from loandesk_repayment.record_type import INSTALLMENT, LOAN

    return [LOAN, INSTALLMENT]


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    from loandesk_repayment import (
        bank_views,  # noqa: F401  (its pages join the blueprint)
        book_views,  # noqa: F401  (the booking page joins bp)
        cob_views,  # noqa: F401  (the close of business page joins bp)
        early_views,  # noqa: F401  (its routes join bp)
        reminder_views,  # noqa: F401  (its page joins bp)
    )
    from loandesk_repayment.views import bp

    return [bp]


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_repayment import (
        bank_api,  # noqa: F401  (its routes join the blueprint)
        cob_api,  # noqa: F401  (its routes join blp)
        early_api,  # noqa: F401  (its routes join blp)
    )
    from loandesk_repayment.api import blp

    return [blp]


@sdk.hookimpl
def loandesk_nav_items() -> list[sdk.NavItem]:
    return [
        sdk.NavItem(
            "tenant.repayment.index",
            "贷款",
            "Loans",
            section="modules",
            order=30,
            permission="repayment.view",
        ),
        sdk.NavItem(
            "tenant.repayment.bank_lines",
            "待匹配流水",
            "Unmatched bank lines",
            section="modules",
            order=31,
            permission="repayment.post",
        ),
        sdk.NavItem(
            "tenant.repayment.cob",
            "日终批处理",
            "Close of business",
            section="modules",
            order=32,
            permission="repayment.cob",
        ),
        sdk.NavItem(
            "tenant.repayment.funders",
            "资金方",
            "Funders",
            section="administration",
            order=45,
            permission="repayment.loans.book",
        ),
        sdk.NavItem(
            "tenant.repayment.reminders",
            "还款提醒",
            "Repayment reminders",
            section="administration",
            order=46,
            permission="repayment.reminders",
        ),
    ]


@sdk.hookimpl
def loandesk_permissions() -> list[sdk.Permission]:
    return [
        sdk.Permission(
            "repayment.view",
            "查看贷款与还款",
            "View loans and payments",
            default_roles=("credit_officer", "collector", "finance", "auditor", "risk_manager"),
        ),
        sdk.Permission("repayment.post", "登记还款", "Post payments", default_roles=("finance",)),
        sdk.Permission(
            "repayment.reverse", "冲正还款", "Reverse payments", default_roles=("finance",)
        ),
        sdk.Permission(
            "repayment.loans.book", "录入贷款", "Book loans", default_roles=("finance",)
        ),
        sdk.Permission(
            "repayment.cob",
            "执行日终批处理",
            "Run close of business",
            default_roles=("finance",),
        ),
        sdk.Permission(
            "repayment.import", "导入银行流水", "Import bank statements", default_roles=("finance",)
        ),
        # saves automation rules (SMS to borrowers) without automations.manage: admins only
        sdk.Permission("repayment.reminders", "设置还款提醒", "Set up repayment reminders"),
    ]


@sdk.hookimpl
def loandesk_event_types() -> list[sdk.EventType]:
    return [
        sdk.EventType("loan.booked", "贷款已录入", "Loan booked", "loan"),
        sdk.EventType("loan.activated", "贷款已放款生效", "Loan activated", "loan"),
        sdk.EventType("loan.settled", "贷款已结清", "Loan settled", "loan"),
        sdk.EventType("loan.written_off", "贷款已核销", "Loan written off", "loan"),
        sdk.EventType("payment.posted", "还款已入账", "Payment posted", "loan"),
        sdk.EventType("payment.reversed", "还款已冲正", "Payment reversed", "loan"),
        sdk.EventType("loan.early_repaid", "贷款已提前还款", "Loan repaid early", "loan"),
        sdk.EventType(
            "loan.early_repayment_reversed",
            "提前还款已冲正",
            "Early repayment reversed",
            "loan",
        ),
        sdk.EventType(
            "bank_import.completed", "银行流水导入完成", "Bank statement imported", "bank_import"
        ),
        sdk.EventType("bank_line.unmatched", "流水待匹配", "Bank line unmatched", "bank_line"),
        sdk.EventType("installment.due", "期供已到期", "Installment due", "installment"),
        sdk.EventType("installment.overdue", "期供已逾期", "Installment overdue", "installment"),
        sdk.EventType("loan.bucket_changed", "逾期分档已变化", "Loan DPD bucket changed", "loan"),
        sdk.EventType(
            "loan.credit_applied", "溢缴款已冲抵到期款", "Credit balance applied to dues", "loan"
        ),
    ]


@sdk.hookimpl
def loandesk_report_datasets() -> list[sdk.Dataset]:
    from loandesk_repayment.collection_reports import COLLECTIONS
    from loandesk_repayment.early_reports import EARLY_REPAYMENTS
    from loandesk_repayment.funder_reports import FUNDER_REPAYMENTS

    return [EARLY_REPAYMENTS, COLLECTIONS, FUNDER_REPAYMENTS]


@sdk.hookimpl
def loandesk_builtin_reports() -> list[sdk.BuiltinReport]:
    from loandesk_repayment import collection_reports, early_reports, funder_reports

    return [
        *early_reports.BUILTIN_REPORTS,
        *collection_reports.BUILTIN_REPORTS,
        *funder_reports.BUILTIN_REPORTS,
    ]


@sdk.hookimpl
def loandesk_jobs() -> list[sdk.JobSpec]:
    from loandesk_repayment import cob
    from loandesk_repayment.bank_import import JOB, MAX_ATTEMPTS, bank_import_job

    return [
        sdk.JobSpec(JOB, bank_import_job, max_attempts=MAX_ATTEMPTS, timeout=4 * 3600),
        # a retry resumes after the last committed chunk; the schedule comes back tomorrow
        sdk.JobSpec(cob.JOB, cob.cob_job, queue="cob", max_attempts=5, timeout=4 * 3600),
    ]


@sdk.hookimpl
def loandesk_schedules() -> list[sdk.Schedule]:
    """Close of business at the tenant's local midnight, for the day that begins."""
    return [sdk.Schedule("repayment.cob_daily", "0 0 * * *", "repayment.cob")]


@sdk.hookimpl
def loandesk_customer_exposure(session: Any, customer_ids: list[uuid.UUID]) -> Decimal | None:
    """The borrower's loans' outstanding principal, for the intake plugin's exposure limit."""
    from loandesk_repayment.loans import outstanding_principal

    found = outstanding_principal(session, customer_ids)
    return found or None


@sdk.hookimpl
def loandesk_customer_merged(session: Any, survivor_id: uuid.UUID, merged_id: uuid.UUID) -> None:
    """A merged customer's loans (and their installments) move to the surviving record
    (audited)."""
    from sqlalchemy import select, update

    from loandesk_repayment.models import Installment, Loan

    moved = [str(i) for i in session.scalars(select(Loan.id).where(Loan.customer_id == merged_id))]
    if moved:
        session.execute(
            update(Loan).where(Loan.customer_id == merged_id).values(customer_id=survivor_id)
        )
        session.execute(
            update(Installment)
            .where(Installment.customer_id == merged_id)
            .values(customer_id=survivor_id)
        )
        sdk.audit_record(
            session, "loan.customer_merged", "loan", None,
            {"records": moved, "customer_id": [str(merged_id), str(survivor_id)]},
        )  # fmt: skip


@sdk.hookimpl
def loandesk_record_sections(
    session: Any, record_type: str, record_id: uuid.UUID
) -> list[sdk.ProfileSection] | None:
    """An application's page: the loan booked from it, or the way to book it once approved."""
    if record_type != "application":
        return None
    from loandesk_repayment.book_views import application_section

    section = application_section(session, record_id)
    return [section] if section is not None else None


_STATUS = {
    "pending": ("待放款", "Pending"),
    "active": ("还款中", "Active"),
    "settled": ("已结清", "Settled"),
    "written_off": ("已核销", "Written off"),
}


@sdk.hookimpl
def loandesk_customer_360_sections(
    session: Any, customer_id: uuid.UUID
) -> list[sdk.ProfileSection] | None:
    """The customer's loans the viewer's data scope reaches, newest first: number, principal,
    disbursed on, outstanding, status."""
    from flask import url_for
    from flask_babel import get_locale
    from sqlalchemy import select

    from loandesk_repayment import loans, statement
    from loandesk_repayment.models import Loan

    access = sdk.record_access("loan")
    if not access.can_read or not sdk.acting_user().can("repayment.view"):
        return None
    zh = str(get_locale() or "zh").startswith("zh")
    query = (
        access.where(select(Loan))
        .where(Loan.customer_id == customer_id)
        .order_by(Loan.created_at.desc())
        .limit(50)
    )
    rows = []
    for loan in session.scalars(query):
        owed = statement.outstanding(loans.installments_of(session, loan))["total"]
        cells = (
            loan.number,
            f"¥{loan.principal:,.2f}",
            loan.disbursed_on.isoformat() if loan.disbursed_on else "—",
            f"¥{owed:,.2f}",
            _STATUS[loan.status][0 if zh else 1],
        )
        rows.append(sdk.ProfileRow(cells, url_for("tenant.repayment.detail", loan_id=loan.id)))
    columns = (
        ("贷款编号", "Loan number"),
        ("本金", "Principal"),
        ("放款日期", "Disbursed on"),
        ("未还金额", "Outstanding"),
        ("状态", "Status"),
    )
    return [sdk.ProfileSection("loans", "贷款", "Loans", columns, tuple(rows), order=20)]
