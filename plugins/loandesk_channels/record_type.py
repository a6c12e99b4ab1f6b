"""The lead record type (线索): built-in fields and built-in roles' starting access. An agent
(``channel_agent``) sees only their own leads; staff who follow up leads see them all."""

from __future__ import annotations

from loandesk.sdk import FieldSpec, RecordType
from loandesk_channels.models import Lead

STATUSES = (
    ("new", "新线索", "New"),
    ("contacted", "已联系", "Contacted"),
    ("converted", "已转进件", "Converted"),
    ("lost", "已流失", "Lost"),
)

FIELDS = (
    FieldSpec("name", "姓名", "Name", "name", required=True, max_length=50, filterable=True),
    FieldSpec("mobile", "手机号", "Mobile", "mobile", required=True, filterable=True),
    FieldSpec("product", "意向产品", "Product wanted", "text", max_length=60, filterable=True),
    FieldSpec("amount", "意向金额", "Amount wanted", "money", minimum="0", filterable=True),
    FieldSpec("city", "城市", "City", "text", max_length=40, filterable=True),
    FieldSpec(
        "status", "状态", "Status", "select", options=STATUSES, read_only=True, filterable=True
    ),
    FieldSpec("channel_code", "渠道编码", "Channel code", "text", read_only=True, filterable=True),
    FieldSpec("utm_source", "来源（utm_source）", "utm_source", "text", read_only=True),
    FieldSpec("utm_medium", "媒介（utm_medium）", "utm_medium", "text", read_only=True),
    FieldSpec("utm_campaign", "活动（utm_campaign）", "utm_campaign", "text", read_only=True),
    FieldSpec("utm_term", "关键词（utm_term）", "utm_term", "text", read_only=True),
    FieldSpec("utm_content", "内容（utm_content）", "utm_content", "text", read_only=True),
    FieldSpec("referrer", "来源页面", "Referrer", "text", read_only=True),
    FieldSpec("landed_at", "访问时间", "Landed", "datetime", read_only=True, filterable=True),
    FieldSpec("owner_id", "渠道代理", "Agent", "user", read_only=True, filterable=True),
    FieldSpec("org_unit_id", "所属部门", "Unit", "org_unit", read_only=True, filterable=True),
    FieldSpec("created_at", "创建时间", "Created", "datetime", read_only=True, filterable=True),
)

LEAD = RecordType(
    key="lead",
    label_zh="线索",
    label_en="Lead",
    model=Lead,
    fields=FIELDS,
    detail_endpoint="tenant.channels.lead",
    list_endpoint="tenant.channels.leads",
    default_scopes={
        "channel_agent": "own",
        "credit_officer": "all",
        "risk_manager": "all",
        "auditor": "all",
        "read_only": "all",
    },
    default_fields={
        "channel_agent": {"*": "view"},
        "credit_officer": {"*": "edit"},
        "risk_manager": {"*": "view"},
        "auditor": {"*": "view"},
        "read_only": {"*": "masked"},
    },
    default_export={"risk_manager": ("*",)},
)
