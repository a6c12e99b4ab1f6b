"""The watch-list record type (预警名单): a loan flagged by early warning, read-only, for
automation rules ("when a loan is flagged high: an extra reminder by SMS to
``customer_id.mobile``, or assign it to early collection") and for data scopes and reports."""

from __future__ import annotations

from loandesk.sdk import FieldSpec, RecordType
from loandesk_warning.models import WatchEntry

LEVELS = (
    ("high", "高风险", "High"),
    ("medium", "中风险", "Medium"),
)
STATUSES = (
    ("flagged", "预警中", "Flagged"),
    ("cleared", "已解除", "Cleared"),
)

FIELDS = (
    FieldSpec("loan_number", "贷款编号", "Loan number", "text", read_only=True),
    FieldSpec("loan_id", "贷款", "Loan", "link", link_type="loan", read_only=True),
    FieldSpec("customer_id", "借款客户", "Customer", "link", link_type="customer", read_only=True),
    FieldSpec("product_code", "产品代码", "Product code", "text", read_only=True, filterable=True),
    FieldSpec(
        "level", "预警等级", "Level", "select", options=LEVELS, read_only=True, filterable=True
    ),
    FieldSpec(
        "status", "状态", "Status", "select", options=STATUSES, read_only=True, filterable=True
    ),
    FieldSpec("score", "预警分", "Score", "integer", read_only=True, filterable=True),
    FieldSpec("model_score", "模型分", "Model score", "integer", read_only=True),
    FieldSpec("days_past_due", "逾期天数", "Days past due", "integer", read_only=True),
    FieldSpec("reason_text", "预警原因", "Reasons", "text", read_only=True),
    FieldSpec(
        "first_flagged_at",
        "首次预警时间",
        "First flagged",
        "datetime",
        read_only=True,
        filterable=True,
    ),
    FieldSpec("last_scored_at", "最近评分时间", "Last scored", "datetime", read_only=True),
    FieldSpec("owner_id", "客户经理", "Credit officer", "user", read_only=True),
    FieldSpec("org_unit_id", "所属部门", "Unit", "org_unit", read_only=True, filterable=True),
)

WATCH_ENTRY = RecordType(
    key="warning",
    label_zh="预警名单",
    label_en="Watch list",
    model=WatchEntry,
    fields=FIELDS,
    title_field="loan_number",
    list_endpoint="tenant.warning.index",
    default_scopes={
        "credit_officer": "own",
        "risk_manager": "all",
        "collector": "all",
        "post_loan_admin": "all",
        "auditor": "all",
    },
    default_fields={
        "credit_officer": {"*": "view"},
        "risk_manager": {"*": "view"},
        "collector": {"*": "view"},
        "post_loan_admin": {"*": "view"},
        "auditor": {"*": "view"},
    },
    default_export={"risk_manager": ("*",), "auditor": ("*",)},
)
