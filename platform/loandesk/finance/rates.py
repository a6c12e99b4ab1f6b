"""Annualised rates of a schedule's cash flows: the IRR-based annual rate Chinese regulators
require loan pricing to be shown in (年化利率, 中国人民银行公告〔2021〕第3号: "年化利率应以对借款人
收取的所有贷款成本与其实际占用的贷款本金的比例计算", the IRR method with simple annualisation:
periodic IRR x periods a year) and the APR of US Regulation Z, 12 CFR Part 1026 Appendix J
(actuarial method). ``Decimal`` throughout; every rate is a fraction rounded half-up to 6
decimals (``Decimal("0.123457")`` is 12.3457 %; pages show percentages to 2 decimals).

Time is counted as Appendix J (b)(5) counts it: whole unit periods back from each payment to
the advance, and the days left as a fraction of a unit period (a month is 30 days, a
semimonth 15, a quarter 90, a week 7). The IRR compounds over that fraction too; the APR
treats it by simple interest, as Appendix J's general equation does; for whole periods the
two coincide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import TYPE_CHECKING, Protocol

from loandesk.finance.dates import PERIODS_PER_YEAR, add_months
from loandesk.finance.terms import FirstPeriod, Frequency, Method, Terms

if TYPE_CHECKING:
    from loandesk.finance.schedule import Installment

_CONTEXT = Context(prec=30)
_SIX = Decimal("0.000001")
_TOLERANCE = Decimal("1e-13")  # per period: far below the 6th decimal of an annual rate
_ZERO = Decimal(0)
_MONTHS_PER_UNIT = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3}
_DAYS_PER_UNIT = {Frequency.WEEKLY: 7, Frequency.BIWEEKLY: 14}

# (whole unit periods, fraction of a unit period, amount) of each payment
Flows = list[tuple[int, Decimal, Decimal]]


@dataclass(frozen=True)
class Quote:
    annual_rate_irr: Decimal
    apr: Decimal
    effective_annual_rate: Decimal


class _HasRates(Protocol):
    @property
    def annual_rate_irr(self) -> Decimal: ...


def periodic_irr(amount_out: Decimal, payments: Sequence[Decimal]) -> Decimal:
    """The rate per period at which ``payments`` (one per equal period, the first one period
    after the money went out) are worth ``amount_out``; unrounded (30 significant digits)."""
    with localcontext(_CONTEXT):
        return _solve(amount_out, [(k, Decimal(0), p) for k, p in enumerate(payments, 1)], False)


def annual_rate_irr(schedule: _HasRates) -> Decimal:
    """The schedule's IRR-based annual rate (fraction, 6 dp), every fee included."""
    return schedule.annual_rate_irr


def apr(
    amount_financed: Decimal,
    payments: Sequence[tuple[dt.date, Decimal]],
    advance_date: dt.date,
    frequency: Frequency,
) -> Decimal:
    """Regulation Z Appendix J actuarial APR (fraction, 6 dp) of ``payments`` for
    ``amount_financed`` advanced on ``advance_date``, with the unit period of ``frequency``
    (a single payment's unit period is its term)."""
    with localcontext(_CONTEXT):
        flows, per_year = _flows(advance_date, payments, frequency)
        return _round(_solve(amount_financed, flows, True) * per_year)


def quote(terms: Terms, installments: Sequence[Installment], upfront_fees: Decimal) -> Quote:
    """The annualised rates of a schedule: the borrower gets the principal less every upfront
    fee (a deducted one is kept back, another is paid at once: the same cash either way) and
    pays the installments, fees included, on their due dates."""
    with localcontext(_CONTEXT):
        frequency = terms.frequency
        if terms.method is Method.SINGLE_PAYMENT:
            frequency = Frequency.SINGLE
        if frequency is not Frequency.SINGLE and _regular(terms, installments):
            # Whole unit periods from the advance: Appendix J's count reduces to 1, 2, ..., n.
            flows = [(k, _ZERO, i.total) for k, i in enumerate(installments, 1)]
            per_year = Decimal(PERIODS_PER_YEAR[frequency])
        else:
            payments = [(i.due_date, i.total) for i in installments]
            flows, per_year = _flows(terms.start_date, payments, frequency)
        out = terms.principal - upfront_fees
        guess = terms.annual_rate / per_year
        irr = _solve(out, flows, False, guess)
        whole_periods = all(not f for _, f, _ in flows)
        actuarial = irr if whole_periods else _solve(out, flows, True, irr)
        effective = (1 + irr) ** per_year - 1 if per_year == int(per_year) else _ear(irr, per_year)
        return Quote(_round(irr * per_year), _round(actuarial * per_year), _round(effective))


def _regular(terms: Terms, installments: Sequence[Installment]) -> bool:
    """Whether every payment falls a whole number of unit periods after the advance: a full
    first period and due dates that were not rolled."""
    return terms.first_period is FirstPeriod.FULL and all(
        i.due_date == i.period_end for i in installments
    )


def _ear(irr: Decimal, per_year: Decimal) -> Decimal:
    return ((1 + irr).ln() * per_year).exp() - 1


def _round(rate: Decimal) -> Decimal:
    return rate.quantize(_SIX, ROUND_HALF_UP)


def _flows(
    advance: dt.date, payments: Sequence[tuple[dt.date, Decimal]], frequency: Frequency
) -> tuple[Flows, Decimal]:
    """Each payment's time in unit periods from the advance (Appendix J (b)(5)), and the unit
    periods a year."""
    if frequency is Frequency.SINGLE:
        # Appendix J (b)(5)(i)-(ii): a single advance and payment; the term is the unit period
        # and there are 365 / its days of them a year.
        days = (payments[-1][0] - advance).days
        return [(1, Decimal(0), payments[-1][1])], Decimal(365) / days
    flows: Flows = []
    for date, amount in payments:
        whole, days, unit_days = _count_back(advance, date, frequency)
        flows.append((whole, Decimal(days) / unit_days, amount))
    return flows, Decimal(PERIODS_PER_YEAR[frequency])


def _count_back(advance: dt.date, date: dt.date, frequency: Frequency) -> tuple[int, int, int]:
    """(whole unit periods, days left, days in a unit period) from ``advance`` to ``date``:
    whole periods counted back from ``date`` (a month-end date counts back by month-ends), the
    days between the advance and the earliest such date left over."""
    if frequency in _DAYS_PER_UNIT:
        unit = _DAYS_PER_UNIT[frequency]
        whole, days = divmod((date - advance).days, unit)
        return whole, days, unit
    month_end = (date + dt.timedelta(days=1)).day == 1
    day = 31 if month_end else date.day
    months = _MONTHS_PER_UNIT.get(frequency, 1)
    span = (date.year - advance.year) * 12 + date.month - advance.month
    whole = span // months + 1
    while whole > 0 and add_months(date, -whole * months, day) < advance:
        whole -= 1
    back = add_months(date, -whole * months, day)
    if frequency is Frequency.SEMIMONTHLY:
        # A month is two semimonths; a half month (15 days) more if the days left allow it.
        days = (back - advance).days
        whole *= 2
        if days >= 15:
            whole, days = whole + 1, days - 15
        return whole, days, 15
    return whole, (back - advance).days, 30 * months


def _solve(amount: Decimal, flows: Flows, actuarial: bool, guess: Decimal | None = None) -> Decimal:
    """The periodic rate ``i`` at which the flows are worth ``amount``: Newton's method from a
    first guess, bisection if it strays. Compound: sum(P / (1+i)^(t+f)); actuarial (Appendix
    J): sum(P / ((1 + f i) (1+i)^t))."""
    if guess is None:
        total = sum((p for _, _, p in flows), Decimal(0))
        longest = max(t + f for t, f, _ in flows)
        guess = (total / amount - 1) / longest * 2 if longest else Decimal(0)
    rate = guess
    for _ in range(60):
        value, slope = _value(rate, flows, actuarial)
        if slope == 0:
            break
        step = (value - amount) / slope
        rate -= step
        if rate <= -1:
            return _bisect(amount, flows, actuarial)
        if abs(step) < _TOLERANCE:
            return rate
    return _bisect(amount, flows, actuarial)


def _value(rate: Decimal, flows: Flows, actuarial: bool) -> tuple[Decimal, Decimal]:
    """The flows' present value at ``rate`` and its derivative by ``rate``."""
    growth = 1 + rate
    discount = 1 / growth
    value = slope = Decimal(0)
    if not any(f for _, f, _ in flows):
        # Whole periods only (the common case): one multiplication a payment.
        power, at = Decimal(1), 0
        weighted = Decimal(0)
        for whole, _, amount in flows:
            power *= discount if whole == at + 1 else discount ** (whole - at)
            at = whole
            term = amount * power
            value += term
            weighted += whole * term
        return value, -weighted / growth
    log = growth.ln() if not actuarial else Decimal(0)
    power, at = Decimal(1), 0
    fractions: dict[Decimal, Decimal] = {}
    for whole, fraction, amount in flows:
        if whole >= at:  # payments in time order: step the power on instead of raising anew
            power *= discount ** (whole - at)
        else:
            power = discount**whole
        at = whole
        term = amount * power
        if fraction:
            if actuarial:
                simple = 1 + fraction * rate
                term /= simple
                slope -= term * (whole / growth + fraction / simple)
                value += term
                continue
            if fraction not in fractions:
                fractions[fraction] = (-fraction * log).exp()
            term *= fractions[fraction]
        value += term
        slope -= term * (whole + fraction) / growth
    return value, slope


def _bisect(amount: Decimal, flows: Flows, actuarial: bool) -> Decimal:
    low, high = Decimal("-0.999999"), Decimal(1)
    while _value(high, flows, actuarial)[0] > amount:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if _value(middle, flows, actuarial)[0] > amount:
            low = middle
        else:
            high = middle
        if high - low < _TOLERANCE:
            break
    return (low + high) / 2
