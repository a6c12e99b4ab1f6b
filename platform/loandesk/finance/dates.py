"""Due dates (还款日), rolling them off non-working days, and day counts (计息基准).

Due dates are anchored on the start date (or the fixed ``due_day``), never stepped from the
previous due date, so that a loan disbursed on the 31st falls due on the last day of February
and on the 31st again in March, instead of drifting to the 28th for good.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from decimal import Decimal

from loandesk.finance.terms import Calendar, DateRoll, DayCount, FirstPeriod, Frequency, Terms

#: Periods a year of each regular frequency (a single payment has none: see ``periods_per_year``).
PERIODS_PER_YEAR: dict[Frequency, int] = {
    Frequency.MONTHLY: 12,
    Frequency.QUARTERLY: 4,
    Frequency.SEMIMONTHLY: 24,
    Frequency.BIWEEKLY: 26,
    Frequency.WEEKLY: 52,
}
_MONTHS = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3}
_DAYS = {Frequency.WEEKLY: 7, Frequency.BIWEEKLY: 14}


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(date: dt.date, months: int, day: int) -> dt.date:
    """``day`` of the month ``months`` after ``date``'s, or that month's last day if shorter."""
    year, month = divmod(date.month - 1 + months, 12)
    year += date.year
    month += 1
    if day > 28:  # only then can the month be too short (calendar.monthrange is slower)
        last = 29 if month == 2 and _calendar.isleap(year) else _MONTH_DAYS[month]
        day = min(day, last)
    return dt.date(year, month, day)


def scheduled_dates(terms: Terms) -> list[dt.date]:
    """The contractual (unrolled) due date of every period, in order."""
    start, n, frequency = terms.start_date, terms.periods, terms.frequency
    if frequency is Frequency.SINGLE:
        assert terms.maturity_date is not None
        return [terms.maturity_date]
    if frequency in _DAYS:
        step = _DAYS[frequency]
        return [start + dt.timedelta(days=step * k) for k in range(1, n + 1)]
    if frequency is Frequency.SEMIMONTHLY:
        # The start's day and fifteen days later, every month.
        return [
            add_months(start, k // 2, start.day) + dt.timedelta(days=15 * (k % 2))
            for k in range(1, n + 1)
        ]
    months = _MONTHS[frequency]
    day = terms.due_day if terms.first_period is FirstPeriod.BROKEN else start.day
    assert day is not None
    return [add_months(start, months * k, day) for k in range(1, n + 1)]


def is_working_day(day: dt.date, calendar: Calendar) -> bool:
    if day in calendar.holidays:
        return False
    return day.weekday() not in calendar.weekend or day in calendar.working_weekends


def roll(day: dt.date, rule: DateRoll, calendar: Calendar) -> dt.date:
    """``day`` moved off non-working days by ``rule`` (following, preceding, modified following:
    the next working day unless that is in the next month, then the one before)."""
    if rule is DateRoll.NONE or is_working_day(day, calendar):
        return day
    one = dt.timedelta(days=1)
    if rule is DateRoll.PRECEDING:
        return _walk(day, -one, calendar)
    following = _walk(day, one, calendar)
    if rule is DateRoll.MODIFIED_FOLLOWING and following.month != day.month:
        return _walk(day, -one, calendar)
    return following


def _walk(day: dt.date, step: dt.timedelta, calendar: Calendar) -> dt.date:
    for _ in range(366):  # a calendar with no working day in a year is a configuration error
        day += step
        if is_working_day(day, calendar):
            return day
    raise ValueError("calendar: no working day within a year")


def days_30e_360(start: dt.date, end: dt.date) -> int:
    """Days between two dates under 30E/360: every month has 30 days, the 31st counts as the
    30th (ISDA 2006 §4.16(g), the "Eurobond basis")."""
    d1, d2 = min(start.day, 30), min(end.day, 30)
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + d2 - d1


def year_fraction(start: dt.date, end: dt.date, day_count: DayCount) -> Decimal:
    """The part of a year from ``start`` to ``end`` that interest runs for."""
    if day_count is DayCount.THIRTY_360:
        return Decimal(days_30e_360(start, end)) / 360
    days = Decimal((end - start).days)
    return days / 365 if day_count is DayCount.ACTUAL_365 else days / 360
