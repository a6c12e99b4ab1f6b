"""China's working calendar for rolling due dates: public holidays (节假日) and the weekend days
made working days (调休上班), as far as the ``chinese-calendar`` package knows them (the State
Council publishes each year's late in the year before; later years fall back to weekends)."""

from __future__ import annotations

import datetime as dt

import chinese_calendar

from loandesk.finance.terms import Calendar, Frequency


def china(start: dt.date, years: int) -> Calendar:
    """The calendar from ``start`` for ``years`` years and a month: enough for a schedule that
    starts on ``start`` and runs that long."""
    holidays, working = set(), set()
    day, end = start, start + dt.timedelta(days=366 * years + 31)
    while day <= end:
        try:
            if chinese_calendar.is_holiday(day) and day.weekday() < 5:
                holidays.add(day)
            elif day.weekday() >= 5 and chinese_calendar.is_workday(day):
                working.add(day)
        except NotImplementedError:  # beyond the years the package has
            break
        day += dt.timedelta(days=1)
    return Calendar(holidays=frozenset(holidays), working_weekends=frozenset(working))


PER_YEAR = {
    Frequency.MONTHLY: 12,
    Frequency.QUARTERLY: 4,
    Frequency.SEMIMONTHLY: 24,
    Frequency.BIWEEKLY: 26,
    Frequency.WEEKLY: 52,
    Frequency.SINGLE: 1,
}


def china_for(start: dt.date, periods: int, frequency: Frequency) -> Calendar:
    """The calendar a schedule of ``periods`` at ``frequency`` from ``start`` needs (a single
    payment is given a year; a broken first period and rolling add less than a month)."""
    per_year = PER_YEAR[Frequency(frequency)]
    return china(start, -(-periods // per_year) + 1)
