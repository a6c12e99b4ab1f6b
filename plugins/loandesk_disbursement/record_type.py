"""The disbursement record type (放款单): its built-in fields and built-in roles' starting
access — data scopes and field permissions (the payee's card number is a ``bank_card``) then
apply to lists, pages, the API and reports alike."""

from __future__ import annotations

from loandesk.sdk import FieldSpec, RecordType
from loandesk_disbursement.models import Order

STATUSES = (
    ("requested", "待复核", "Requested"),
    ("approved", "已复核", "Approved"),
    ("paying", "放款中", "Paying"),
    ("paid", "已放款", "Paid"),
    ("failed", "放款失败", "Failed"),
    ("rejected", "已驳回", "Rejected"),
    ("cancelled", "已取消", "Cancelled"),
)

FIELDS = (
    FieldSpec("number", "放款单号", "Order number", "text", read_only=True),
    FieldSpec("loan_number", "贷款编号", "Loan number", "text", read_only=True),
    FieldSpec("customer_id", "借款客户", "Customer", "link", read_only=True, link_type="customer"),
    FieldSpec("product_name", "贷款产品", "Product", "text", read_only=True),
    FieldSpec("amount", "放款金额", "Amount", "money", read_only=True, filterable=True),
    FieldSpec("account_name", "收款户名", "Account name", "text", read_only=True),
    FieldSpec("bank_name", "开户银行", "Bank", "text", read_only=True),
    FieldSpec("account_number", "收款账号", "Account number", "bank_card", read_only=True),
    FieldSpec(
        "status", "状态", "Status", "select", options=STATUSES, read_only=True, filterable=True
    ),
    FieldSpec("requested_by_id", "申请人", "Requested by", "user", read_only=True),
    FieldSpec("reviewed_by_id", "复核人", "Reviewed by", "user", read_only=True),
    FieldSpec("paid_on", "放款日期", "Paid on", "date", read_only=True, filterable=True),
    FieldSpec("owner_id", "客户经理", "Credit officer", "user", read_only=True),
    FieldSpec("org_unit_id", "所属部门", "Unit", "org_unit", read_only=True, filterable=True),
    FieldSpec("requested_at", "申请时间", "Requested", "datetime", read_only=True),
)

DISBURSEMENT = RecordType(
    key="disbursement",
    label_zh="放款单",
    label_en="Disbursement order",
    model=Order,
    fields=FIELDS,
    title_field="number",
    detail_endpoint="tenant.disbursement.detail",
    list_endpoint="tenant.disbursement.index",
    default_scopes={
        "credit_officer": "own",
        "risk_manager": "unit",
        "finance": "all",
        "post_loan_admin": "all",
        "auditor": "all",
        "read_only": "all",
    },
    default_fields={
        "credit_officer": {"*": "view", "account_number": "masked"},
        "risk_manager": {"*": "view", "account_number": "masked"},
        "finance": {"*": "view"},
        "post_loan_admin": {"*": "view", "account_number": "masked"},
        "auditor": {"*": "view", "account_number": "masked"},
        "read_only": {"*": "view", "account_number": "masked"},
    },
    default_export={"finance": ("*",), "auditor": ("*",)},
)
