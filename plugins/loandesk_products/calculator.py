"""The loan calculator (贷款计算器): the schedule a customer would get, for a loan officer to
quote, from a product (its ranges checked) or from terms typed in; refused like a product
when it costs more than the tenant's cap on the annualised rate. Nothing is saved.

The issue places schedules in the repayment plugin; the calculator lives here because a quote
is made from product terms, and it builds schedules with ``loandesk.finance`` exactly as the
repayment plugin will."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    NotFound,
    ValidationFailed,
    finance,
    message,
    product_terms,
    rate_cap,
)
from loandesk_products import pricing, terms_input

# terms a quote without a product may give, as a product version names them
EXPLICIT_KEYS = (
    "annual_rate",
    "frequency",
    "method",
    "day_count",
    "first_period",
    "due_day",
    "interest_only_periods",
    "fees",
    "rounding",
    "date_roll",
)  # and ``maturity_date``: the one due date of frequency ``single``
RANGE_NAMES = {
    "min_amount": "principal",
    "max_amount": "principal",
    "min_periods": "periods",
    "max_periods": "periods",
}


@dataclass(frozen=True)
class Quote:
    product: finance.ProductTerms | None
    terms: finance.Terms
    schedule: finance.Schedule
    cap: Decimal


def _loan_values(
    values: Mapping[str, Any], errors: dict[str, list[str]]
) -> tuple[Any, Any, dt.date]:
    problems = terms_input.Problems()
    principal = terms_input.decimal_value(
        problems, "principal", values.get("principal"), low=Decimal("0.01"),
        high=terms_input.MAX_AMOUNT, places=2,
    )  # fmt: skip
    periods = terms_input.integer_value(
        problems, "periods", values.get("periods"), low=1, high=terms_input.MAX_PERIODS
    )
    start = _date(problems, "start_date", values.get("start_date")) or pricing.local_today()
    errors.update(problems.errors)
    return principal, periods, start


def _date(problems: terms_input.Problems, name: str, raw: Any) -> dt.date | None:
    if raw in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        problems.add(name, message(N_("Enter a date such as 2026-03-01.")))
        return None


def _product(session: Session, values: Mapping[str, Any], errors: dict[str, list[str]]) -> Any:
    version = values.get("version")
    if version in ("", None):
        version = None
    elif isinstance(version, str) and version.isdigit():
        version = int(version)
    elif isinstance(version, bool) or not isinstance(version, int):
        errors["version"] = [message(N_("Enter a whole number."))]
        return None
    try:
        return product_terms(session, uuid.UUID(str(values.get("product_id"))), version)
    except (ValueError, NotFound):
        errors["product_id"] = [message(N_("No such product."))]
        return None


def quote(session: Session, values: Mapping[str, Any]) -> Quote:
    """The schedule of the loan ``values`` describe: ``product_id`` (and ``version``) with
    ``principal``, ``periods`` and ``start_date``, or those with the ``EXPLICIT_KEYS``
    instead of a product. 422 naming each wrong field: outside the product's ranges
    (``principal``, ``periods``) or over the cap (``annual_rate``)."""
    errors: dict[str, list[str]] = {}
    principal, periods, start = _loan_values(values, errors)
    product, maturity = None, None
    if values.get("product_id") not in (None, ""):
        product = _product(session, values, errors)
        if product is not None:
            _within(product, principal, periods, errors)
    else:
        explicit = {k: values[k] for k in EXPLICIT_KEYS if values.get(k) is not None}
        try:
            product = terms_input.load_terms(
                {**explicit, "min_amount": principal or "1", "max_amount": principal or "1",
                 "min_periods": periods or 1, "max_periods": periods or 1},
                product_id=None, version=0, code="", name="", single_allowed=True,
            )  # fmt: skip
        except ValidationFailed as problem:
            for key, texts in problem.errors.items():
                errors.setdefault(RANGE_NAMES.get(key, key), []).extend(texts)
        problems = terms_input.Problems()
        maturity = _date(problems, "maturity_date", values.get("maturity_date"))
        errors.update(problems.errors)
    if errors or product is None or principal is None or periods is None:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    calendar = finance.holidays.china_for(start, periods, product.frequency)
    terms = product.terms_for(principal, periods, start, calendar=calendar, maturity_date=maturity)
    schedule = pricing.schedule_of(terms)
    cap = rate_cap()
    if schedule.annual_rate_irr > cap:
        raise ValidationFailed(
            N_("The loan costs more than the cap on the annualised rate."),
            errors={
                "annual_rate": [pricing.over_cap(schedule.annual_rate_irr, cap, principal, periods)]
            },
        )
    return Quote(product if values.get("product_id") else None, terms, schedule, cap)


def _within(
    product: finance.ProductTerms,
    principal: Decimal | None,
    periods: int | None,
    errors: dict[str, list[str]],
) -> None:
    if principal is not None and not product.min_amount <= principal <= product.max_amount:
        errors["principal"] = [
            message(
                N_("The product lends from %(low)s to %(high)s."),
                low=f"{product.min_amount:,.2f}",
                high=f"{product.max_amount:,.2f}",
            )
        ]
    if periods is not None and not product.min_periods <= periods <= product.max_periods:
        errors["periods"] = [
            message(
                N_("The product's loans have %(low)s to %(high)s periods."),
                low=product.min_periods,
                high=product.max_periods,
            )
        ]
