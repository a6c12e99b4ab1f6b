"""The collection case record type (催收案件): what automations, reports and to-dos know a
case by. Every field is set by the plugin (read-only); the tenant may add its own fields.
Agency users are narrowed further, to their agency's cases, by ``cases.visible``."""

from __future__ import annotations

from loandesk.sdk import FieldSpec, RecordType
from loandesk_collections.models import Case

STATUSES = (("open", "催收中", "Open"), ("closed", "已结案", "Closed"))

FIELDS = (
    FieldSpec("loan_number", "贷款编号", "Loan number", "text", read_only=True, filterable=True),
    FieldSpec("customer_id", "借款客户", "Customer", "link", link_type="customer", read_only=True),
    FieldSpec(
        "status", "状态", "Status", "select", options=STATUSES, read_only=True, filterable=True
    ),
    FieldSpec("bucket", "逾期阶段", "Bucket", "text", read_only=True, filterable=True),
    FieldSpec("days_past_due", "逾期天数", "Days past due", "integer", read_only=True),
    FieldSpec("overdue_amount", "逾期金额", "Overdue amount", "money", read_only=True),
    FieldSpec("overdue_principal", "逾期本金", "Overdue principal", "money", read_only=True),
    FieldSpec(
        "principal_outstanding", "剩余本金", "Principal outstanding", "money", read_only=True
    ),
    FieldSpec("product_code", "产品代码", "Product code", "text", read_only=True, filterable=True),
    FieldSpec("early", "提前催收", "Early collection", "boolean", read_only=True),
    FieldSpec("business_date", "业务日期", "Business date", "date", read_only=True),
    FieldSpec("owner_id", "催收员", "Collector", "user", read_only=True, filterable=True),
    FieldSpec("org_unit_id", "所属部门", "Unit", "org_unit", read_only=True, filterable=True),
    FieldSpec("opened_at", "立案时间", "Opened", "datetime", read_only=True, filterable=True),
    FieldSpec("closed_at", "结案时间", "Closed", "datetime", read_only=True),
)

COLLECTION_CASE = RecordType(
    key="collection_case",
    label_zh="催收案件",
    label_en="Collection case",
    model=Case,
    fields=FIELDS,
    title_field="loan_number",
    detail_endpoint="tenant.collections.case",
    list_endpoint="tenant.collections.index",
    default_scopes={
        "collector": "all",
        "post_loan_admin": "all",
        "risk_manager": "all",
        "auditor": "all",
    },
    default_fields={
        "collector": {"*": "view"},
        "post_loan_admin": {"*": "view"},
        "risk_manager": {"*": "view"},
        "auditor": {"*": "view"},
    },
    default_export={"post_loan_admin": ("*",), "auditor": ("*",)},
)
