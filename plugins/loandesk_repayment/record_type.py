"""The loan record type (贷款): built-in fields, the tenant's own fields, and built-in roles'
starting access. Customer, principal and periods are entered when a loan is booked (so they
are not ``read_only``: a role that books loans gets new fields to edit too) and never changed
afterwards; the rest is set by the service."""

from __future__ import annotations

from loandesk.sdk import FieldSpec, RecordType
from loandesk_repayment.models import Loan

STATUSES = (
    ("pending", "待放款", "Pending"),
    ("active", "还款中", "Active"),
    ("settled", "已结清", "Settled"),
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
