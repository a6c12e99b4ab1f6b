"""When a node's deadline falls: in plain hours, in working hours or working days (Chinese
public holidays and the weekend days made working days 调休, from ``chinese-calendar``), or at
the end of a date field's day. Working time counts whole working days in the tenant's time
zone: a deadline of 24 working hours set on the Friday before a three-day holiday at 10:00 falls
on the Tuesday after it at 10:00.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar

from loandesk.flows.tree import Deadline

MAX_DAYS = 3660  # ten years of calendar days: a deadline is never searched for longer


def is_working_day(day: date) -> bool:
    """A working day in mainland China; Monday to Friday for years the calendar does not
    know yet (the State Council publishes each year's holidays late in the year before)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def due_at(
    start: datetime, deadline: Deadline, timezone: str, values: Mapping[str, Any]
) -> datetime | None:
    """The UTC moment a deadline set at ``start`` (UTC) falls; None when it names a date field
    the record left empty."""
    zone = ZoneInfo(timezone)
    if deadline.kind == "hours":
        return start + timedelta(hours=deadline.amount)
    if deadline.kind == "field":
        return _end_of(values.get(deadline.field or ""), zone)
    local = start.astimezone(zone)
    if deadline.kind == "working_hours":
        return _add_working_time(local, timedelta(hours=deadline.amount)).astimezone(UTC)
    return _add_working_days(local, deadline.amount).astimezone(UTC)


def _midnight_after(moment: datetime) -> datetime:
    day = moment.date() + timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=moment.tzinfo)


def _add_working_time(local: datetime, remaining: timedelta) -> datetime:
    cursor = local
    for _ in range(MAX_DAYS):
        midnight = _midnight_after(cursor)
        if is_working_day(cursor.date()):
            available = midnight - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
        cursor = midnight
    raise ValueError("no working time within ten years")


def _add_working_days(local: datetime, days: int) -> datetime:
    day = local.date()
    for _ in range(MAX_DAYS):
        day += timedelta(days=1)
        if is_working_day(day):
            days -= 1
            if days == 0:
                return datetime.combine(day, local.timetz())
    raise ValueError("no working day within ten years")


def _end_of(value: Any, zone: ZoneInfo) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        end = datetime.combine(value + timedelta(days=1), time(), tzinfo=zone)
        return end.astimezone(UTC)
    return None
