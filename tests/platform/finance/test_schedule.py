"""The schedule engine's rules, each on a loan small enough to check by hand (the published
examples are in test_published_examples.py, the invariants in test_properties.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal as D

import pytest

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
from loandesk.sdk import finance

BASE = Terms(
    principal=D("12000"),
    annual_rate=D("0.12"),
    periods=12,
    frequency=Frequency.MONTHLY,
    method=Method.EQUAL_PRINCIPAL,
    start_date=dt.date(2026, 1, 15),
)


def amounts(schedule: finance.Schedule, name: str) -> list[str]:
    return [str(getattr(i, name)) for i in schedule.installments]


def test_equal_principal_by_hand() -> None:
    schedule = build_schedule(BASE)
    assert amounts(schedule, "principal") == ["1000.00"] * 12
    # 1% a month on 12000, 11000, ..., 1000
    assert amounts(schedule, "interest") == [f"{k * 10}.00" for k in range(12, 0, -1)]
    assert schedule.total_interest == D("780.00")
    assert schedule.installments[-1].balance == 0


def test_zero_rate_annuity_is_principal_in_equal_parts() -> None:
    terms = replace(BASE, annual_rate=D(0), method=Method.EQUAL_INSTALLMENT, principal=D("100"))
    schedule = build_schedule(replace(terms, periods=3))
    assert amounts(schedule, "total") == ["33.33", "33.33", "33.34"]
    assert schedule.annual_rate_irr == 0


def test_due_dates_keep_the_month_end() -> None:
    terms = replace(BASE, start_date=dt.date(2026, 1, 31), periods=4)
    assert [i.due_date for i in build_schedule(terms).installments] == [
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
        dt.date(2026, 5, 31),
    ]


def test_broken_first_period_to_the_due_day() -> None:
    terms = replace(
        BASE, first_period=FirstPeriod.BROKEN, due_day=20, day_count=DayCount.ACTUAL_365
    )
    first, second = build_schedule(terms).installments[:2]
    assert (first.period_start, first.due_date, second.due_date) == (
        dt.date(2026, 1, 15),
        dt.date(2026, 2, 20),
        dt.date(2026, 3, 20),
    )
    # 36 days on 12000 at 12% / 365; then 28 days on 11000
    assert first.interest == D("142.03")
    assert second.interest == D("101.26")


def test_rolled_due_dates_keep_the_interest_of_the_contract_dates() -> None:
    holiday = dt.date(2026, 5, 15)  # a Friday; the 16th and 17th are the weekend
    calendar = Calendar(holidays=frozenset({holiday}))
    plain = build_schedule(replace(BASE, day_count=DayCount.ACTUAL_365))
    rolled = {
        rule: build_schedule(
            replace(BASE, day_count=DayCount.ACTUAL_365, date_roll=rule, calendar=calendar)
        )
        for rule in DateRoll
    }
    may = 3  # index of the installment due 2026-05-15
    assert rolled[DateRoll.NONE].installments[may].due_date == holiday
    assert rolled[DateRoll.FOLLOWING].installments[may].due_date == dt.date(2026, 5, 18)
    assert rolled[DateRoll.PRECEDING].installments[may].due_date == dt.date(2026, 5, 14)
    for schedule in rolled.values():
        assert amounts(schedule, "interest") == amounts(plain, "interest")
        assert schedule.installments[may].period_end == holiday


def test_modified_following_stays_in_the_month() -> None:
    terms = replace(
        BASE,
        start_date=dt.date(2026, 1, 31),
        periods=3,
        date_roll=DateRoll.MODIFIED_FOLLOWING,
    )
    # 2026-02-28 is a Saturday: following would be March 2nd, so the Friday before
    assert build_schedule(terms).installments[0].due_date == dt.date(2026, 2, 27)
    working = Calendar(working_weekends=frozenset({dt.date(2026, 2, 28)}))
    worked = build_schedule(replace(terms, calendar=working))
    assert worked.installments[0].due_date == dt.date(2026, 2, 28)


def test_fees_upfront_deducted_and_per_installment() -> None:
    fees = (
        Fee("service_fee", FeeKind.UPFRONT, FeeBasis.PERCENT, D("0.01"), deducted=True),
        Fee("account_fee", FeeKind.PER_INSTALLMENT, FeeBasis.FIXED, D("5")),
    )
    schedule = build_schedule(replace(BASE, fees=fees))
    assert schedule.upfront_fees == D("120.00")
    assert schedule.disbursed == D("11880.00")
    assert all(i.fees == D("5.00") for i in schedule.installments)
    assert schedule.total_fees == D("180.00")
    assert schedule.total == D("12000") + D("780.00") + D("180.00")
    plain = build_schedule(BASE)
    assert schedule.annual_rate_irr > plain.annual_rate_irr == D("0.120000")


def test_spread_remainder_and_yuan_rounding() -> None:
    terms = replace(BASE, principal=D("10000"), periods=3)
    last = build_schedule(terms)
    assert amounts(last, "principal") == ["3333.33", "3333.33", "3333.34"]
    spread = build_schedule(replace(terms, rounding=Rounding(remainder=Remainder.SPREAD)))
    assert amounts(spread, "principal") == ["3333.34", "3333.33", "3333.33"]
    yuan = build_schedule(replace(terms, rounding=Rounding(installment=InstallmentRounding.YUAN)))
    assert amounts(yuan, "principal") == ["3333.00", "3333.00", "3334.00"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"periods": 0}, "periods"),
        ({"annual_rate": D("-0.01")}, "annual_rate"),
        ({"principal": D("-1")}, "principal"),
        ({"first_period": FirstPeriod.BROKEN, "due_day": 32}, "due_day"),
        ({"first_period": FirstPeriod.BROKEN}, "due_day"),
        ({"method": Method.INTEREST_FIRST, "interest_only_periods": 12}, "interest_only_periods"),
        ({"frequency": Frequency.SINGLE, "periods": 2}, "periods"),
        ({"frequency": Frequency.SINGLE, "periods": 1}, "maturity_date"),
        (
            {"frequency": Frequency.WEEKLY, "first_period": FirstPeriod.BROKEN, "due_day": 3},
            "first_period",
        ),
        ({"fees": (Fee("x", FeeKind.UPFRONT, FeeBasis.FIXED, D("12000")),)}, "fees"),
        ({"fees": (Fee("x", FeeKind.UPFRONT, FeeBasis.FIXED, D("-1")),)}, "fees.0.value"),
    ],
)
def test_impossible_terms_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: "):
        build_schedule(replace(BASE, **change))  # type: ignore[arg-type]


def test_a_rolled_due_date_never_falls_on_or_before_the_one_before() -> None:
    # Weekly from Wednesday 2026-09-30; 1-7 October are holidays: rolling 7 October back
    # would land on the disbursement day, so that one rolls forward instead.
    calendar = Calendar(holidays=frozenset(dt.date(2026, 10, d) for d in range(1, 8)))
    terms = replace(
        BASE,
        frequency=Frequency.WEEKLY,
        start_date=dt.date(2026, 9, 30),
        periods=3,
        date_roll=DateRoll.PRECEDING,
        calendar=calendar,
    )
    dues = [i.due_date for i in build_schedule(terms).installments]
    assert dues == [dt.date(2026, 10, 8), dt.date(2026, 10, 14), dt.date(2026, 10, 21)]


def test_terms_with_a_maturity_date_survive_the_codec() -> None:
    terms = replace(
        BASE,
        method=Method.SINGLE_PAYMENT,
        frequency=Frequency.SINGLE,
        periods=1,
        maturity_date=dt.date(2026, 4, 15),
        fees=(Fee("service_fee", FeeKind.UPFRONT, FeeBasis.PERCENT, D("0.01"), deducted=True),),
    )
    data = finance.codec.to_dict(terms)
    assert data["maturity_date"] == "2026-04-15"
    assert finance.codec.terms_from_dict(data) == terms
    single = build_schedule(terms)
    # 90 days of 30E/360 (15 January to 15 April) at 12 % on 12,000
    assert [(i.due_date, i.interest) for i in single.installments] == [
        (dt.date(2026, 4, 15), D("360.00"))
    ]
