"""The loan record type (贷款): built-in fields, the tenant's own fields, and built-in roles'
starting access. Customer, principal and periods are entered when a loan is booked (so they
are not ``read_only``: a role that books loans gets new fields to edit too) and never changed
afterwards; the rest is set by the service.

The installment record type (还款计划): one row of a loan's schedule in force, read-only, for
automation rules ("3 days before ``due_date``, at 09:00": product reminders are such rules).
Installments an early repayment superseded are history: ``in_force`` keeps them from rules."""

from __future__ import annotations

from typing import Any

from loandesk.sdk import FieldSpec, RecordType
from loandesk_repayment.models import Installment, Loan

STATUSES = (
    ("pending", "待放款", "Pending"),
    ("active", "还款中", "Active"),
    ("settled", "已结清", "Settled"),
    ("written_off", "已核销", "Written off"),
)

FIELDS = (
    FieldSpec("number", "贷款编号", "Loan number", "text", read_only=True),
    FieldSpec("customer_id", "借款客户", "Customer", "link", link_type="customer"),
    FieldSpec("principal", "本金", "Principal", "money", filterable=True),
    FieldSpec("periods", "期数", "Periods", "integer", filterable=True),
    FieldSpec(
        "status", "状态", "Status", "select", options=STATUSES, read_only=True, filterable=True
    ),
    FieldSpec("disbursed_on", "放款日期", "Disbursed on", "date", read_only=True, filterable=True),
    FieldSpec("owner_id", "客户经理", "Credit officer", "user", read_only=True),
    FieldSpec("org_unit_id", "所属部门", "Unit", "org_unit", read_only=True, filterable=True),
    FieldSpec("created_at", "录入时间", "Booked", "datetime", read_only=True, filterable=True),
)

LOAN = RecordType(
    key="loan",
    label_zh="贷款",
    label_en="Loan",
    model=Loan,
    fields=FIELDS,
    title_field="number",
    detail_endpoint="tenant.repayment.detail",
    list_endpoint="tenant.repayment.index",
    default_scopes={
        "credit_officer": "own",
        "risk_manager": "unit",
        "collector": "all",
        "finance": "all",
        "post_loan_admin": "all",
        "auditor": "all",
        "read_only": "all",
    },
    default_fields={
        "credit_officer": {"*": "view"},
        "risk_manager": {"*": "view"},
        "collector": {"*": "view"},
        "finance": {"*": "edit"},
        "post_loan_admin": {"*": "view"},
        "auditor": {"*": "view"},
        "read_only": {"*": "view"},
    },
    default_export={"finance": ("*",), "auditor": ("*",)},
)


INSTALLMENT_STATUSES = (
    ("pending", "待还", "Due"),
    ("partial", "部分还款", "Partly paid"),
    ("paid", "已还清", "Paid"),
)

INSTALLMENT_FIELDS = (
    FieldSpec("loan_number", "贷款编号", "Loan number", "text", read_only=True),
    FieldSpec("number", "期次", "Period", "integer", read_only=True),
    FieldSpec("due_date", "应还日", "Due date", "date", read_only=True, filterable=True),
    FieldSpec(
        "amount_due",
        "本期应还",
        "Amount due",
        "money",
        read_only=True,
        help_zh="本金、利息、费用与罚息之和",
        help_en="Principal, interest, fees and penalty together",
    ),
    FieldSpec(
        "outstanding",
        "未还金额",
        "Outstanding",
        "money",
        attribute="amount_outstanding",
        read_only=True,
    ),
    FieldSpec(
        "status",
        "状态",
        "Status",
        "select",
        options=INSTALLMENT_STATUSES,
        read_only=True,
        filterable=True,
    ),
    FieldSpec("paid_on", "还清日期", "Paid on", "date", read_only=True),
    FieldSpec("product_code", "产品代码", "Product code", "text", read_only=True, filterable=True),
    FieldSpec("customer_id", "借款客户", "Customer", "link", link_type="customer", read_only=True),
    FieldSpec("owner_id", "客户经理", "Credit officer", "user", read_only=True),
    FieldSpec("org_unit_id", "所属部门", "Unit", "org_unit", read_only=True, filterable=True),
)


def _in_force(model: Any) -> Any:
    return model.superseded.is_(False)


INSTALLMENT = RecordType(
    key="installment",
    label_zh="还款计划",
    label_en="Installment",
    model=Installment,
    fields=INSTALLMENT_FIELDS,
    title_field="loan_number",
    default_scopes=LOAN.default_scopes,
    default_fields={role: {"*": "view"} for role in LOAN.default_scopes},
    default_export=LOAN.default_export,
    in_force=_in_force,
)
