"""The cap on the annualised rate (年化利率上限), measured as regulators measure it: the IRR of
a loan's cash flows with every fee included, not the nominal rate. A product may lend any
amount and number of periods within its ranges, so its versions are checked over them: fixed
fees weigh most on the smallest amount, and a fee charged once weighs most on the fewest
periods, so every period count is tried at the smallest and the largest amount."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from loandesk.sdk import N_, ValidationFailed, current, finance, message, utcnow


@dataclass(frozen=True)
class Quote:
    """The annualised rate of one loan a product can make."""

    amount: Decimal
    periods: int
    annual_rate_irr: Decimal


@dataclass(frozen=True)
class RateRange:
    """The lowest and highest annualised rate over a product's ranges."""

    lowest: Quote
    highest: Quote


def local_today() -> dt.date:
    """Today in the current tenant's time zone: quotes start on it."""
    return utcnow().astimezone(zoneinfo.ZoneInfo(current().timezone)).date()


def percent(rate: Decimal) -> str:
    """``0.2431`` as ``24.31%``."""
    return f"{(rate * 100).quantize(Decimal('0.01'))}%"


def _loans(terms: finance.ProductTerms) -> Iterator[tuple[Decimal, int]]:
    for amount in dict.fromkeys((terms.min_amount, terms.max_amount)):
        for periods in range(terms.min_periods, terms.max_periods + 1):
            yield amount, periods


def schedule_of(terms: finance.Terms) -> finance.Schedule:
    """``finance.build_schedule``, its ``ValueError`` as a 422 naming the term at fault."""
    try:
        return finance.build_schedule(terms)
    except ValueError as problem:
        text = str(problem)
        name = text.split(":", 1)[0].strip().split(".", 1)[0]
        field = name if name.isidentifier() else "terms"
        raise ValidationFailed(N_("Some fields need attention."), errors={field: [text]}) from None


def rate_range(terms: finance.ProductTerms, start_date: dt.date | None = None) -> RateRange:
    """The annualised rates (IRR, fees included) of the loans at the corners of ``terms``'
    ranges, starting ``start_date`` (today)."""
    start = start_date or local_today()
    quotes = [
        Quote(amount, periods, schedule_of(terms.terms_for(amount, periods, start)).annual_rate_irr)
        for amount, periods in _loans(terms)
    ]
    return RateRange(
        lowest=min(quotes, key=lambda q: q.annual_rate_irr),
        highest=max(quotes, key=lambda q: q.annual_rate_irr),
    )


def over_cap(rate: Decimal, cap: Decimal, amount: Decimal, periods: int) -> str:
    return message(
        N_(
            "The annualised rate (IRR, fees included) is %(rate)s for %(amount)s over "
            "%(periods)s periods, over the cap of %(cap)s."
        ),
        rate=percent(rate),
        amount=f"{amount:,.2f}",
        periods=periods,
        cap=percent(cap),
    )


def check_cap(
    terms: finance.ProductTerms, cap: Decimal, start_date: dt.date | None = None
) -> RateRange:
    """422 naming ``annual_rate`` when some loan within ``terms``' ranges costs more than
    ``cap`` a year; else the range of rates."""
    found = rate_range(terms, start_date)
    top = found.highest
    if top.annual_rate_irr > cap:
        raise ValidationFailed(
            N_("The product costs more than the cap on the annualised rate."),
            errors={"annual_rate": [over_cap(top.annual_rate_irr, cap, top.amount, top.periods)]},
        )
    return found
