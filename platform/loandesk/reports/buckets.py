"""Date buckets in the tenant's time zone, per database.

PostgreSQL converts itself (``date_trunc(unit, ts AT TIME ZONE tz)``). SQLite has no time
zones, and one fixed offset is wrong across summer time: ``sqlite_local`` shifts each value by
the offset its zone had at that instant, a ``CASE`` over the changes within the range the data
spans (``offsets``); a zone without changes there (Asia/Shanghai) is a single shift. Buckets
are given as their first day, ``YYYY-MM-DD``; weeks start on Monday on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, case, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement


def sqlite_local(
    value: ColumnElement[Any], zone: ZoneInfo, low: datetime | None, high: datetime | None
) -> ColumnElement[Any]:
    """``value`` (a UTC datetime column) as ``zone``'s local time, correct from ``low`` to
    ``high``."""
    shifts = [
        (at, f"{int(offset.total_seconds())} seconds") for at, offset in offsets(zone, low, high)
    ]
    if len(shifts) == 1:
        result: ColumnElement[Any] = func.datetime(value, shifts[0][1])
        return result
    branches = [
        (value < at, func.datetime(value, shift))
        for (at, _), (_, shift) in zip(shifts[1:], shifts[:-1], strict=True)
    ]
    return case(*branches, else_=func.datetime(value, shifts[-1][1]))


def sqlite_bucket(value: Any, bucket: str) -> Any:
    """The first day of ``value``'s bucket as ``YYYY-MM-DD`` (weeks start on Monday, as
    PostgreSQL's ``date_trunc`` has them)."""
    if bucket == "day":
        return func.date(value)
    if bucket == "week":
        weekday = (cast(func.strftime("%w", value), Integer) + 6) % 7
        return func.date(value, literal("-") + cast(weekday, String) + literal(" days"))
    if bucket == "month":
        return func.strftime("%Y-%m-01", value)
    if bucket == "quarter":
        month = (cast(func.strftime("%m", value), Integer) - 1) // 3 * 3 + 1
        year = func.strftime("%Y-", value, type_=String)
        return year + func.printf("%02d", month, type_=String) + literal("-01")
    return func.strftime("%Y-01-01", value)


def offsets(zone: ZoneInfo, low: datetime | None, high: datetime | None) -> list[tuple[Any, Any]]:
    """The UTC offsets ``zone`` had from ``low`` to ``high`` (aware UTC datetimes): the first
    offset, then each change as (the UTC instant it took effect, the new offset)."""
    start = (low or datetime.now(UTC)).astimezone(UTC)
    end = (high or start).astimezone(UTC)
    found: list[tuple[Any, Any]] = [(start, start.astimezone(zone).utcoffset())]
    moment = start
    while moment < end:
        following = min(moment + timedelta(days=1), end)
        if following.astimezone(zone).utcoffset() != found[-1][1]:
            found.append(_change(zone, moment, following, found[-1][1]))
        moment = following
    return found


def _change(zone: ZoneInfo, before: datetime, after: datetime, offset: Any) -> tuple[Any, Any]:
    """The first whole second in (before, after] at which the offset is no longer ``offset``."""
    low, high = int(before.timestamp()), int(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset:
            low = middle
        else:
            high = middle
    moment = datetime.fromtimestamp(high, UTC)
    return moment, moment.astimezone(zone).utcoffset()
