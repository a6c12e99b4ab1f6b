"""Quiet hours: when messages to borrowers wait (no SMS at night unless urgent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.db import utcnow
from loandesk.errors import ValidationFailed
from loandesk.i18n import N_
from loandesk.notifications.models import QuietHours

DEFAULT_START = "21:00"
DEFAULT_END = "08:00"


@dataclass(frozen=True)
class Hours:
    """Local start and end; start after end spans midnight; start equal to end: none."""

    start: time
    end: time


def parse_time(text: str) -> time | None:
    """``HH:MM`` as a time, or None."""
    try:
        hours, minutes = (int(part) for part in str(text).split(":"))
        return time(hours, minutes)
    except ValueError:
        return None


def hours_of(session: Session) -> Hours:
    """The current tenant's quiet hours (the defaults while it set none)."""
    row = session.scalar(select(QuietHours))
    start, end = (row.start, row.end) if row else (DEFAULT_START, DEFAULT_END)
    return Hours(parse_time(start) or time(21), parse_time(end) or time(8))


def set_hours(session: Session, start: str, end: str) -> QuietHours:
    """Change the tenant's quiet hours (audited when they change); ``ValidationFailed`` for a
    wrong time. Messages already held keep the time they were given."""
    errors = {
        name: [N_("Give the time of day as HH:MM.")]
        for name, text in (("start", start), ("end", end))
        if parse_time(text) is None
    }
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    row = session.scalar(select(QuietHours))
    if row is None:
        row = QuietHours(start=DEFAULT_START, end=DEFAULT_END)
        session.add(row)
    before = [row.start, row.end]
    row.start = f"{parse_time(start):%H:%M}"
    row.end = f"{parse_time(end):%H:%M}"
    row.updated_at = utcnow()
    session.flush()
    if before != [row.start, row.end]:
        audit.record(session, "notification.quiet_hours", "tenant", str(row.tenant_id),
                     {"quiet_hours": [before, [row.start, row.end]]})  # fmt: skip
    return row


def held_until(now: datetime, timezone: str, hours: Hours) -> datetime | None:
    """When the quiet hours that hold at ``now`` (UTC) end, in UTC; None when they don't."""
    if hours.start == hours.end:
        return None
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    moment = local.time().replace(tzinfo=None)
    day = local.date()
    if hours.start < hours.end:
        if not hours.start <= moment < hours.end:
            return None
    elif moment >= hours.start:
        day += timedelta(days=1)
    elif moment >= hours.end:
        return None
    return datetime.combine(day, hours.end, tzinfo=zone).astimezone(UTC)
