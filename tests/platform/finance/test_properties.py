"""Invariants of every schedule, on terms hypothesis draws: the principal parts add up to the
principal to the cent, the last balance is 0.00, the totals add up, the IRR of a fee-free
annuity is its nominal rate, and fees only ever raise the IRR and the APR."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal as D
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from loandesk.finance import (
    Calendar,
    DateRoll,
    DayCount,
    Fee,
    FeeBasis,
    FeeKind,
    FirstPeriod,
    Frequency,
    InstallmentRounding,
    Method,
    Remainder,
    Rounding,
    Terms,
    build_schedule,
)

cents = st.integers(min_value=100_00, max_value=5_000_000_00).map(lambda c: D(c) / 100)
rates = st.integers(min_value=0, max_value=360_000).map(lambda r: D(r) / 1_000_000)
roundings = st.builds(
    Rounding,
    installment=st.sampled_from(InstallmentRounding),
    interest_on_rounded_balance=st.booleans(),
    remainder=st.sampled_from(Remainder),
    adjust_last=st.booleans(),
)
holidays = frozenset({dt.date(2026, 10, d) for d in range(1, 8)} | {dt.date(2027, 1, 1)})


@st.composite
def any_terms(draw: st.DrawFn) -> Terms:
    method = draw(st.sampled_from(Method))
    frequency = draw(st.sampled_from([f for f in Frequency if f is not Frequency.SINGLE]))
    periods = draw(st.integers(min_value=2, max_value=60))
    start = dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 365)))
    broken = frequency in (Frequency.MONTHLY, Frequency.QUARTERLY) and draw(st.booleans())
    interest_only = None
    if method is Method.INTEREST_FIRST and draw(st.booleans()):
        interest_only = draw(st.integers(min_value=0, max_value=periods - 1))
    return Terms(
        principal=draw(cents),
        annual_rate=draw(rates),
        periods=periods,
        frequency=frequency,
        method=method,
        start_date=start,
        day_count=draw(st.sampled_from(DayCount)),
        first_period=FirstPeriod.BROKEN if broken else FirstPeriod.FULL,
        due_day=draw(st.integers(1, 31)) if broken else None,
        interest_only_periods=interest_only,
        rounding=draw(roundings),
        date_roll=draw(st.sampled_from(DateRoll)),
        calendar=Calendar(holidays=holidays),
    )


@settings(max_examples=300, deadline=None)
@given(any_terms())
def test_principal_sums_and_balances_end_at_zero(terms: Terms) -> None:
    schedule = build_schedule(terms)
    installments = schedule.installments
    assert sum(i.principal for i in installments) == terms.principal
    assert installments[-1].balance == 0
    balances = [terms.principal, *(i.balance for i in installments)]
    assert all(a >= b >= 0 for a, b in pairwise(balances))
    for i in installments:
        assert i.principal >= 0 and i.interest >= 0
        assert i.total == i.principal + i.interest + i.fees
        assert i.principal == i.principal.quantize(D("0.01"))
        assert i.interest == i.interest.quantize(D("0.01"))
        assert i.period_start < i.period_end
    assert [i.number for i in installments] == list(range(1, len(installments) + 1))
    # Due dates never go back, whatever the holidays and the roll rule (a week of holidays can
    # make two weekly installments due the same day), and none is due on the disbursement day.
    assert all(a <= b for a, b in pairwise([i.due_date for i in installments]))
    assert installments[0].due_date > terms.start_date
    assert schedule.total_interest == sum(i.interest for i in installments)
    assert (
        schedule.total == schedule.total_principal + schedule.total_interest + schedule.total_fees
    )
    assert schedule.total == sum(i.total for i in installments) + schedule.upfront_fees


@settings(max_examples=200, deadline=None)
@given(
    principal=st.integers(min_value=1_000_000, max_value=100_000_000).map(D),
    rate=st.integers(min_value=1_000, max_value=360_000).map(lambda r: D(r) / 1_000_000),
    periods=st.integers(min_value=3, max_value=60),
    frequency=st.sampled_from([f for f in Frequency if f is not Frequency.SINGLE]),
)
def test_irr_of_a_fee_free_annuity_is_its_nominal_rate(
    principal: D, rate: D, periods: int, frequency: Frequency
) -> None:
    # The cash flows are rounded to the cent; on a loan of a million or more the cents move the
    # IRR by far less than the 6th decimal.
    terms = Terms(
        principal=principal,
        annual_rate=rate,
        periods=periods,
        frequency=frequency,
        method=Method.EQUAL_INSTALLMENT,
        start_date=dt.date(2026, 3, 10),
    )
    schedule = build_schedule(terms)
    assert schedule.annual_rate_irr == rate
    assert schedule.apr == rate


@st.composite
def a_fee(draw: st.DrawFn) -> Fee:
    """A fee of at least a cent: fixed 0.01-300.00, or 0.01 %-3 % of a principal of 100 up."""
    kind = draw(st.sampled_from(FeeKind))
    basis = draw(st.sampled_from(FeeBasis))
    step = D("0.01") if basis is FeeBasis.FIXED else D("0.0001")
    value = draw(st.integers(min_value=1, max_value=300)) * step
    deducted = kind is FeeKind.UPFRONT and draw(st.booleans())
    return Fee("fee", kind, basis, value, deducted)


fees = st.lists(a_fee(), min_size=1, max_size=3)


@settings(max_examples=200, deadline=None)
@given(any_terms(), fees)
def test_fees_only_raise_the_rates(terms: Terms, charged: list[Fee]) -> None:
    plain = build_schedule(terms)
    with_fees = build_schedule(replace(terms, fees=tuple(charged)))
    assert with_fees.total_fees > 0
    assert with_fees.annual_rate_irr >= plain.annual_rate_irr
    assert with_fees.apr >= plain.apr
    assert with_fees.effective_annual_rate >= plain.effective_annual_rate
    if with_fees.total_fees >= terms.principal / 1000:
        # A fee of 0.1 % of the principal or more shows in the 6th decimal of every rate.
        assert with_fees.annual_rate_irr > plain.annual_rate_irr
        assert with_fees.apr > plain.apr
    # Fees never change the loan's principal and interest.
    assert [(i.principal, i.interest) for i in with_fees.installments] == [
        (i.principal, i.interest) for i in plain.installments
    ]
