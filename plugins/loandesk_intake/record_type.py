"""The application record type: built-in fields and built-in roles' starting access."""

from __future__ import annotations

from loandesk.sdk import FieldSpec, RecordType
from loandesk_intake.models import Application
from loandesk_intake.service import flow_changed

STATUSES = (
    ("draft", "草稿", "Draft"),
    ("submitted", "审批中", "In approval"),
    ("in_review", "审核中", "In review"),
    ("returned", "已退回", "Sent back"),
    ("approved", "已批准", "Approved"),
    ("rejected", "已拒绝", "Rejected"),
    ("withdrawn", "已撤回", "Withdrawn"),
    ("contracted", "已签约", "Contracted"),
)

FIELDS = (
    FieldSpec("number", "申请编号", "Application number", "text", read_only=True),
    FieldSpec("customer_id", "借款客户", "Customer", "link", required=True, link_type="customer"),
    FieldSpec(
        "amount",
        "申请金额",
        "Amount",
        "money",
        required=True,
        minimum="100",
        maximum="10000000",
        filterable=True,
    ),
    FieldSpec(
        "term_months",
        "期限（月）",
        "Term (months)",
        "integer",
        required=True,
        minimum="1",
        maximum="360",
        filterable=True,
    ),
    FieldSpec(
        "status", "状态", "Status", "select", options=STATUSES, read_only=True, filterable=True
    ),
    FieldSpec("owner_id", "经办人", "Credit officer", "user", read_only=True),
    FieldSpec("org_unit_id", "所属部门", "Unit", "org_unit", read_only=True, filterable=True),
    FieldSpec("created_at", "创建时间", "Created", "datetime", read_only=True, filterable=True),
    FieldSpec("submitted_at", "提交时间", "Submitted", "datetime", read_only=True, filterable=True),
)

APPLICATION = RecordType(
    key="application",
    label_zh="借款申请",
    label_en="Application",
    model=Application,
    fields=FIELDS,
    title_field="number",
    detail_endpoint="tenant.intake.detail",
    list_endpoint="tenant.intake.index",
    on_flow=flow_changed,
    default_scopes={
        "credit_officer": "own",
        "risk_manager": "unit",
        "finance": "all",
        "post_loan_admin": "all",
        "auditor": "all",
        "read_only": "all",
        "channel_agent": "own",  # the applications made from their leads
    },
    default_fields={
        "credit_officer": {"*": "edit"},
        "risk_manager": {"*": "view"},
        "finance": {"*": "view"},
        "post_loan_admin": {"*": "view"},
        "auditor": {"*": "view"},
        "read_only": {"*": "view"},
        "channel_agent": {"*": "edit"},
    },
    default_export={"risk_manager": ("*",), "finance": ("*",)},
)
