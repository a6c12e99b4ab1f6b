"""Loan arithmetic (贷款计算): terms, repayment schedules and annualised rates, in ``Decimal``.
Pure functions with no database or Flask: the products, repayment and contracts plugins reach
them through ``loandesk.sdk``."""

from loandesk.finance import codec, holidays
from loandesk.finance.rates import annual_rate_irr, apr, periodic_irr
from loandesk.finance.schedule import Installment, Schedule, build_schedule
from loandesk.finance.terms import (
    DEFAULT_ALLOCATION,
    Calendar,
    DateRoll,
    DayCount,
    EarlyRepayment,
    Fee,
    FeeBasis,
    FeeKind,
    FirstPeriod,
    Frequency,
    InstallmentRounding,
    Method,
    Part,
    Penalty,
    PenaltyBase,
    ProductTerms,
    Recalculation,
    Remainder,
    Rounding,
    Terms,
)

__all__ = [
    "DEFAULT_ALLOCATION",
    "Calendar",
    "DateRoll",
    "DayCount",
    "EarlyRepayment",
    "Fee",
    "FeeBasis",
    "FeeKind",
    "FirstPeriod",
    "Frequency",
    "Installment",
    "InstallmentRounding",
    "Method",
    "Part",
    "Penalty",
    "PenaltyBase",
    "ProductTerms",
    "Recalculation",
    "Remainder",
    "Rounding",
    "Schedule",
    "Terms",
    "annual_rate_irr",
    "apr",
    "build_schedule",
    "codec",
    "holidays",
    "periodic_irr",
]
