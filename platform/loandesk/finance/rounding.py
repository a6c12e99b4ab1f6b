"""Rounding of amounts (舍入规则) by a product's ``Rounding``, and the checks of ``Terms`` that
refuse impossible loans with a ``ValueError`` naming the field."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from loandesk.finance.terms import (
    FeeBasis,
    FeeKind,
    FirstPeriod,
    Frequency,
    InstallmentRounding,
    Method,
    Terms,
)

CENT = Decimal("0.01")
YUAN = Decimal(1)
ZERO = Decimal(0)

Rounder = Callable[[Decimal], Decimal]


def cents_half_up(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, ROUND_HALF_UP)


def cents_half_even(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, ROUND_HALF_EVEN)


def installment_rounder(mode: InstallmentRounding) -> tuple[Rounder, Decimal]:
    """How an installment (or an equal principal part) is rounded, and the step it moves in."""
    if mode is InstallmentRounding.CENT_HALF_EVEN:
        return cents_half_even, CENT
    if mode is InstallmentRounding.YUAN:
        return (lambda a: a.quantize(YUAN, ROUND_HALF_UP)), YUAN
    if mode is InstallmentRounding.CENT_UP:
        return (lambda a: a.quantize(CENT, ROUND_CEILING)), CENT
    return cents_half_up, CENT


def interest_rounder(mode: InstallmentRounding) -> Rounder:
    """Interest is always rounded to the cent: half-even for a half-even product, else half-up
    (rounding interest always up, or to whole yuan, would overcharge every period)."""
    return cents_half_even if mode is InstallmentRounding.CENT_HALF_EVEN else cents_half_up


def floor_to(amount: Decimal, step: Decimal) -> Decimal:
    return amount.quantize(step, ROUND_FLOOR)


def fee_amount(basis: FeeBasis, value: Decimal, principal: Decimal) -> Decimal:
    """A fee in yuan: fixed, or a fraction of the principal rounded to the cent half-up."""
    return cents_half_up(value if basis is FeeBasis.FIXED else principal * value)


def check_terms(terms: Terms) -> None:
    """``ValueError("<field>: <why>")`` for terms no schedule can be made of."""
    if terms.principal <= 0:
        raise ValueError("principal: must be more than 0")
    if terms.principal != terms.principal.quantize(CENT):
        raise ValueError("principal: at most 2 decimals")
    if terms.annual_rate < 0:
        raise ValueError("annual_rate: must not be negative")
    if terms.periods < 1:
        raise ValueError("periods: must be at least 1")
    if terms.frequency is Frequency.SINGLE:
        if terms.periods != 1:
            raise ValueError("periods: a single payment frequency has exactly 1 period")
        if terms.maturity_date is None:
            raise ValueError("maturity_date: required for a single payment frequency")
        if terms.maturity_date <= terms.start_date:
            raise ValueError("maturity_date: must be after start_date")
    elif terms.maturity_date is not None:
        raise ValueError("maturity_date: only for a single payment frequency")
    _check_first_period(terms)
    if terms.interest_only_periods is not None:
        if terms.method is not Method.INTEREST_FIRST:
            raise ValueError("interest_only_periods: only for the interest-first method")
        if not 0 <= terms.interest_only_periods < terms.periods:
            raise ValueError("interest_only_periods: must be from 0 to periods - 1")
    if terms.method is Method.INTEREST_FIRST and terms.periods < 2:
        raise ValueError("periods: interest-first needs at least 2 periods")
    _check_fees(terms)


def _check_first_period(terms: Terms) -> None:
    if terms.due_day is None:
        if terms.first_period is FirstPeriod.BROKEN:
            raise ValueError("due_day: required for a broken first period")
        return
    if not 1 <= terms.due_day <= 31:
        raise ValueError("due_day: must be from 1 to 31")
    if terms.first_period is not FirstPeriod.BROKEN:
        raise ValueError(
            "due_day: only with a broken first period (a full one is due on the start's day)"
        )
    if terms.frequency not in (Frequency.MONTHLY, Frequency.QUARTERLY):
        raise ValueError(
            "first_period: a broken first period needs a monthly or quarterly frequency"
        )


def _check_fees(terms: Terms) -> None:
    deducted = ZERO
    for i, fee in enumerate(terms.fees):
        if fee.value < 0:
            raise ValueError(f"fees.{i}.value: must not be negative")
        if fee.basis is FeeBasis.PERCENT and fee.value >= 1:
            raise ValueError(f"fees.{i}.value: a percentage fee is a fraction under 1")
        if fee.deducted and fee.kind is not FeeKind.UPFRONT:
            raise ValueError(f"fees.{i}.deducted: only an upfront fee can be deducted")
        if fee.kind is FeeKind.UPFRONT:
            deducted += fee_amount(fee.basis, fee.value, terms.principal)
    if deducted >= terms.principal:
        raise ValueError("fees: upfront fees must be less than the principal")
