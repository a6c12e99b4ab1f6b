"""The channel funnel (渠道漏斗): one row per lead, with where it came from (channel,
sub-channel, agent) and how far it got — converted into an application, submitted, referred
to manual review by the risk rules (转人工), approved, disbursed (an application ``contracted``;
none until the servicing plugins exist) — and the built-in report over it.

The application and the risk decision are read from their tables by name (``sqlalchemy.table``),
never through another plugin's models; the viewer's data scope applies to the *lead*."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String, Uuid, and_, case, column, exists, literal, select, table
from sqlalchemy.orm import outerjoin

from loandesk.sdk import BuiltinReport, Dataset, Dimension, Measure, Source, SourceColumn
from loandesk_channels.models import Channel, LeadApplication

APPLICATIONS = table(
    "intake_applications",
    column("tenant_id", Uuid),
    column("id", Uuid),
    column("status", String),
    column("submitted_at"),
)
DECISIONS = table(
    "risk_decisions",
    column("tenant_id", Uuid),
    column("record_type", String),
    column("record_id", Uuid),
    column("outcome", String),
)
# Core tables, not ORM entities: the session's tenant criteria on an ORM entity would land in
# the WHERE clause and turn these outer joins into inner ones (the tenant is in every ON).
_PARENT = Channel.__table__.alias("funnel_parent").c
_CHANNEL = Channel.__table__.alias("funnel_channel").c
_LINK = LeadApplication.__table__.alias("funnel_link").c
# reached by the application: counted once it got there, whatever happened after
SUBMITTED = ("submitted", "returned", "approved", "rejected", "contracted")
APPROVED = ("approved", "contracted")
DISBURSED = ("contracted",)


def _select_from(model: Any, dialect: str) -> Any:
    return (
        outerjoin(
            model,
            _CHANNEL.id.table,
            and_(_CHANNEL.tenant_id == model.tenant_id, _CHANNEL.id == model.channel_id),
        )
        .outerjoin(
            _PARENT.id.table,
            and_(_PARENT.tenant_id == _CHANNEL.tenant_id, _PARENT.id == _CHANNEL.parent_id),
        )
        .outerjoin(
            _LINK.id.table,
            and_(_LINK.tenant_id == model.tenant_id, _LINK.lead_id == model.id),
        )
        .outerjoin(
            APPLICATIONS,
            and_(
                APPLICATIONS.c.tenant_id == _LINK.tenant_id,
                APPLICATIONS.c.id == _LINK.application_id,
            ),
        )
    )


def _flag(condition: Any) -> Any:
    return case((condition, literal(1)), else_=literal(0)).cast(Integer)


def _referred(dialect: str) -> Any:
    referred = exists(
        select(literal(1)).where(
            DECISIONS.c.tenant_id == _LINK.tenant_id,
            DECISIONS.c.record_type == "application",
            DECISIONS.c.record_id == _LINK.application_id,
            DECISIONS.c.outcome == "refer",
        )
    )
    return _flag(referred)


def _top(attribute: str) -> Any:
    """The top-level channel's ``attribute`` (the parent's for a sub-channel's lead)."""
    return case(
        (_PARENT.id.is_not(None), _PARENT[attribute]),
        else_=_CHANNEL[attribute],
    )


FUNNEL_SOURCE = Source(
    select_from=_select_from,
    columns=(
        SourceColumn("channel", "渠道", "Channel", "text", lambda d: _top("name")),
        SourceColumn(
            "sub_channel",
            "子渠道",
            "Sub-channel",
            "text",
            lambda d: case((_PARENT.id.is_not(None), _CHANNEL.name), else_=None),
        ),
        SourceColumn(
            "submitted",
            "已提交",
            "Submitted",
            "integer",
            lambda d: _flag(APPLICATIONS.c.status.in_(SUBMITTED)),
        ),
        SourceColumn("referred", "转人工", "Referred", "integer", _referred),
        SourceColumn(
            "approved",
            "已批准",
            "Approved",
            "integer",
            lambda d: _flag(APPLICATIONS.c.status.in_(APPROVED)),
        ),
        SourceColumn(
            "disbursed",
            "已放款",
            "Disbursed",
            "integer",
            lambda d: _flag(APPLICATIONS.c.status.in_(DISBURSED)),
        ),
    ),
)

FUNNEL = Dataset(
    key="channels.funnel",
    label_zh="渠道漏斗",
    label_en="Channel funnel",
    record_type="lead",
    description_zh="每条线索一行：来源渠道、子渠道、渠道代理，以及是否已转进件、已提交、被风控规则转人工、"
    "已批准、已放款。",
    description_en="One row per lead: its channel, sub-channel and agent, and whether it was "
    "converted, submitted, referred to manual review by the risk rules, approved and disbursed.",
    source=FUNNEL_SOURCE,
    dimensions=(
        Dimension("channel"),
        Dimension("sub_channel"),
        Dimension("owner_id"),
        Dimension("status"),
        Dimension("landed_at"),
        Dimension("created_at"),
    ),
    measures=(
        Measure("leads", "线索数", "Leads"),
        Measure("converted", "已转进件", "Converted", when=("status", ("converted",))),
        Measure("submitted", "已提交", "Submitted", "sum", "submitted"),
        Measure("referred", "转人工", "Referred to review", "sum", "referred"),
        Measure("approved", "已批准", "Approved", "sum", "approved"),
        Measure("disbursed", "已放款", "Disbursed", "sum", "disbursed"),
        Measure(
            "conversion_rate",
            "转化率",
            "Conversion rate",
            "ratio",
            numerator="converted",
            denominator="leads",
        ),
    ),
    # the lead's channel_code is its top-level channel's code (kept in step by the service)
    global_filters={"date": "created_at", "channel": "channel_code"},
)

CHANNEL_FUNNEL = BuiltinReport(
    key="channels.funnel",
    name_zh="渠道漏斗",
    name_en="Channel funnel",
    description_zh="按渠道、子渠道和渠道代理统计线索数、转进件、提交、转人工、批准与放款笔数。",
    description_en="Leads, conversions, submissions, referrals to review, approvals and "
    "disbursements per channel, sub-channel and agent.",
    dataset="channels.funnel",
    spec={
        "dimensions": ["channel", "sub_channel", "owner_id"],
        "measures": ["leads", "converted", "submitted", "referred", "approved", "disbursed"],
        "sort": "-leads",
    },
    chart_type="table",
    default_roles=("risk_manager",),
)
