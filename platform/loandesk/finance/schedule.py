"""Repayment schedules (还款计划) from ``Terms``: every method, rounding convention, day count and
due-date rule the products offer, in ``Decimal`` throughout.

SKELETON: the finance engineer fills the bodies; the signatures are what other modules use.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from loandesk.finance.terms import Terms


@dataclass(frozen=True)
class Installment:
    """One period's due (期供): amounts already rounded to the cent."""

    number: int  # 1-based
    period_start: dt.date
    due_date: dt.date
    principal: Decimal
    interest: Decimal
    fees: Decimal  # per-installment fees of this period (and upfront fees not deducted, in #1)
    total: Decimal  # principal + interest + fees
    balance: Decimal  # principal remaining after this installment


@dataclass(frozen=True)
class Schedule:
    terms: Terms
    installments: tuple[Installment, ...]
    total_principal: Decimal
    total_interest: Decimal
    total_fees: Decimal
    total: Decimal
    upfront_fees: Decimal  # charged at disbursement
    disbursed: Decimal  # what the borrower receives: principal minus deducted fees
    annual_rate_irr: Decimal  # 年化利率(IRR): periodic IRR x periods a year, 4 decimals (fraction)
    apr: Decimal  # Regulation Z Appendix J actuarial APR, a fraction


def build_schedule(terms: Terms) -> Schedule:
    """The schedule of ``terms``; ``ValueError`` (with the offending name) on terms that cannot
    make one (no periods, a negative rate)."""
    raise NotImplementedError
