"""Due dates: entered and shown in the tenant's timezone, stored in UTC."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def due_at(day: date, at: time | None, timezone: str) -> tuple[datetime, bool]:
    """A due date entered in the tenant's timezone as UTC, with whether it is all-day: a date
    without a time is due at the end of that day (the last second before the next one)."""
    zone = ZoneInfo(timezone)
    if at is None:
        local = datetime.combine(day + timedelta(days=1), time(), zone) - timedelta(seconds=1)
        return local.astimezone(ZoneInfo("UTC")), True
    return datetime.combine(day, at, zone).astimezone(ZoneInfo("UTC")), False


def local_moment(moment: datetime, timezone: str) -> datetime:
    """A UTC moment in the tenant's timezone (to show a due date as it was entered)."""
    return moment.astimezone(ZoneInfo(timezone))


def day_range(first: date | None, last: date | None, timezone: str) -> tuple[Any, Any]:
    """Local dates ``first`` .. ``last`` (inclusive) as UTC bounds for ``Filters``."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time(), zone) if first else None
    end = (
        datetime.combine(last + timedelta(days=1), time(), zone) - timedelta(microseconds=1)
        if last
        else None
    )
    return start, end
