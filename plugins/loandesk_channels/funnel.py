"""The channel funnel with money: per channel and agent, the stages of the leads the viewer's
scope reaches (the ``channels.funnel`` dataset's measures, counted the same way) beside what
the channel cost in the period and the cost per disbursed loan."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk.sdk import RecordAccess, current
from loandesk_channels.models import Cost, Lead, LeadApplication
from loandesk_channels.reports import APPLICATIONS, APPROVED, DECISIONS, DISBURSED, SUBMITTED

# the core table: an outer join the session's tenant criteria must not turn into an inner one
LINKS = LeadApplication.__table__

STAGES = ("leads", "converted", "submitted", "referred", "approved", "disbursed")


def rows(
    session: Session,
    access: RecordAccess,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[dict[str, Any]]:
    """One row per (channel, agent) with leads; a channel's cost is on each of its rows'
    channel total (``cost``) and divided by the channel's disbursed loans."""
    query = access.where(
        select(Lead.channel_id, Lead.agent_id, Lead.status, APPLICATIONS.c.status, Lead.id)
        .select_from(Lead)
        .outerjoin(LINKS, (LINKS.c.tenant_id == Lead.tenant_id) & (LINKS.c.lead_id == Lead.id))
        .outerjoin(
            APPLICATIONS,
            (APPLICATIONS.c.tenant_id == LINKS.c.tenant_id)
            & (APPLICATIONS.c.id == LINKS.c.application_id),
        )
    )
    start, end = _bounds(date_from, date_to)
    if start is not None:
        query = query.where(Lead.created_at >= start)
    if end is not None:
        query = query.where(Lead.created_at < end)
    referred = set(
        session.scalars(
            select(LeadApplication.lead_id).where(
                select(DECISIONS.c.record_id)
                .where(
                    DECISIONS.c.tenant_id == LeadApplication.tenant_id,
                    DECISIONS.c.record_type == "application",
                    DECISIONS.c.record_id == LeadApplication.application_id,
                    DECISIONS.c.outcome == "refer",
                )
                .exists()
            )
        )
    )
    counts: dict[tuple[uuid.UUID | None, uuid.UUID | None], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(STAGES, 0)
    )
    for channel_id, agent_id, status, application_status, lead_id in session.execute(query):
        row = counts[(channel_id, agent_id)]
        row["leads"] += 1
        row["converted"] += status == "converted"
        row["submitted"] += application_status in SUBMITTED
        row["referred"] += lead_id in referred
        row["approved"] += application_status in APPROVED
        row["disbursed"] += application_status in DISBURSED
    costs = _costs(session, date_from, date_to)
    disbursed: dict[uuid.UUID | None, int] = defaultdict(int)
    for (channel_id, _), row in counts.items():
        disbursed[channel_id] += row["disbursed"]
    result = []
    for (channel_id, agent_id), row in sorted(counts.items(), key=lambda kv: str(kv[0])):
        cost = costs.get(channel_id, Decimal("0.00")) if channel_id else Decimal("0.00")
        loans = disbursed[channel_id]
        per_loan = (cost / loans).quantize(Decimal("0.01"), ROUND_HALF_UP) if loans else None
        result.append(
            {
                "channel_id": channel_id,
                "agent_id": agent_id,
                **row,
                "cost": str(cost),
                "cost_per_disbursed": None if per_loan is None else str(per_loan),
            }
        )
    return result


def _bounds(
    date_from: date | None, date_to: date | None
) -> tuple[datetime | None, datetime | None]:
    """Whole local days of the tenant, as UTC instants."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(current().timezone)

    def at(day: date) -> datetime:
        return datetime.combine(day, time(), zone).astimezone(ZoneInfo("UTC"))

    return (
        at(date_from) if date_from else None,
        at(date_to + timedelta(days=1)) if date_to else None,
    )


def _costs(
    session: Session, date_from: date | None, date_to: date | None
) -> dict[uuid.UUID, Decimal]:
    query = select(Cost.channel_id, func.sum(Cost.amount)).group_by(Cost.channel_id)
    if date_from:
        query = query.where(Cost.spent_on >= date_from)
    if date_to:
        query = query.where(Cost.spent_on <= date_to)
    return {channel_id: Decimal(total or 0) for channel_id, total in session.execute(query)}
