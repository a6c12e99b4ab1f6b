"""The terms a repayment schedule is built from (还款计划要素), as plain frozen data.

``Terms`` is one loan's schedule terms; ``ProductTerms`` is what a product version (贷款产品)
says, from which the terms of a loan are made once its amount, periods and dates are known,
together with the servicing rules (penalty interest, allocation order, early repayment) that
the repayment plugin applies after disbursement. Nothing here touches a float: amounts and
rates are ``Decimal`` (rates as fractions: ``Decimal("0.12")`` is 12% a year).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class Method(StrEnum):
    """How principal and interest are spread over the installments."""

    EQUAL_INSTALLMENT = "equal_installment"  # 等额本息 (annuity)
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    INTEREST_FIRST = "interest_first"  # 先息后本
    FLAT = "flat"  # 等本等息
    SINGLE_PAYMENT = "single_payment"  # 一次性还本付息


class Frequency(StrEnum):
    """How often an installment falls due."""

    MONTHLY = "monthly"
    BIWEEKLY = "biweekly"
    WEEKLY = "weekly"
    SEMIMONTHLY = "semimonthly"
    QUARTERLY = "quarterly"
    SINGLE = "single"


class DayCount(StrEnum):
    """How the days of a period become a fraction of a year."""

    THIRTY_360 = "30/360"
    ACTUAL_365 = "actual/365"
    ACTUAL_360 = "actual/360"


class FirstPeriod(StrEnum):
    """Whether the first period is a whole period or runs to the fixed due day."""

    FULL = "full"
    BROKEN = "broken"


class DateRoll(StrEnum):
    """What happens to a due date on a non-working day."""

    NONE = "none"
    FOLLOWING = "following"  # the next working day
    PRECEDING = "preceding"  # the working day before
    MODIFIED_FOLLOWING = "modified_following"  # the next, unless that is next month


class InstallmentRounding(StrEnum):
    """How a computed installment (or its principal part) becomes an amount."""

    CENT_HALF_EVEN = "cent_half_even"
    CENT_HALF_UP = "cent_half_up"
    YUAN = "yuan"  # to the whole yuan, half up
    CENT_UP = "cent_up"  # always up to the next cent


class Remainder(StrEnum):
    """Where the cents that rounding leaves over go."""

    LAST = "last"
    SPREAD = "spread"  # one cent at a time over the first installments


class FeeKind(StrEnum):
    UPFRONT = "upfront"  # 一次性费用: charged once, at disbursement
    PER_INSTALLMENT = "per_installment"  # 期费: charged with every installment


class FeeBasis(StrEnum):
    FIXED = "fixed"  # ``value`` is an amount
    PERCENT = "percent"  # ``value`` is a fraction of the principal


@dataclass(frozen=True)
class Fee:
    """One fee (费用): ``code`` names it in the ledger (``service_fee``)."""

    code: str
    kind: FeeKind
    basis: FeeBasis
    value: Decimal
    deducted: bool = False  # an upfront fee kept out of the money paid out (砍头息-like)


@dataclass(frozen=True)
class Rounding:
    """The rounding conventions of a product: each is a setting because lenders differ."""

    installment: InstallmentRounding = InstallmentRounding.CENT_HALF_UP
    # else each period's interest is that of the exact (unrounded) amortisation, rounded
    interest_on_rounded_balance: bool = True
    remainder: Remainder = Remainder.LAST
    adjust_last: bool = False  # choose the installment so the last one ends closest to it


@dataclass(frozen=True)
class Calendar:
    """Non-working days for rolling due dates: weekends, the tenant's holidays (节假日) and the
    weekend days that are working days (调休上班)."""

    holidays: frozenset[dt.date] = frozenset()
    working_weekends: frozenset[dt.date] = frozenset()
    weekend: frozenset[int] = frozenset({5, 6})  # date.weekday(): Saturday, Sunday


@dataclass(frozen=True)
class Terms:
    """One loan's schedule terms."""

    principal: Decimal
    annual_rate: Decimal  # nominal, a fraction
    periods: int
    frequency: Frequency
    method: Method
    start_date: dt.date  # disbursement date: interest runs from here
    day_count: DayCount = DayCount.THIRTY_360
    first_period: FirstPeriod = FirstPeriod.FULL
    due_day: int | None = None  # the day of month installments fall due (broken first period)
    interest_only_periods: int | None = None  # 先息后本: None = principal all at the end
    fees: tuple[Fee, ...] = ()
    rounding: Rounding = field(default_factory=Rounding)
    date_roll: DateRoll = DateRoll.NONE
    calendar: Calendar = field(default_factory=Calendar)
    maturity_date: dt.date | None = None  # the one due date of frequency ``single``


class PenaltyBase(StrEnum):
    OVERDUE_PRINCIPAL = "overdue_principal"
    OVERDUE_PRINCIPAL_AND_INTEREST = "overdue_principal_and_interest"


class Part(StrEnum):
    """The parts of what is due, in the words a payment is allocated by (冲销顺序)."""

    PENALTY = "penalty"
    FEES = "fees"
    INTEREST = "interest"
    PRINCIPAL = "principal"


class Recalculation(StrEnum):
    """What a partial early repayment (部分提前还款) changes."""

    SHORTEN_TERM = "shorten_term"
    LOWER_INSTALLMENT = "lower_installment"


@dataclass(frozen=True)
class Penalty:
    """Penalty interest (罚息) on overdue amounts after the grace days (宽限期)."""

    annual_rate: Decimal
    base: PenaltyBase = PenaltyBase.OVERDUE_PRINCIPAL
    grace_days: int = 0


@dataclass(frozen=True)
class EarlyRepayment:
    """Early repayment terms (提前还款)."""

    allowed: bool = True
    fee_percent: Decimal = Decimal(0)  # of the principal repaid early
    min_periods_paid: int = 0  # periods that must be paid before repaying early
    recalculations: tuple[Recalculation, ...] = (
        Recalculation.SHORTEN_TERM,
        Recalculation.LOWER_INSTALLMENT,
    )


DEFAULT_ALLOCATION: tuple[Part, ...] = (Part.PENALTY, Part.FEES, Part.INTEREST, Part.PRINCIPAL)


@dataclass(frozen=True)
class ProductTerms:
    """What one product version says: the ranges a loan's amount and periods must fall in, the
    schedule terms every loan of it shares, and the servicing rules. A loan keeps the
    ``ProductTerms`` of the version it was made on (``version``)."""

    product_id: object  # uuid.UUID of the product
    version: int
    code: str
    name: str
    min_amount: Decimal
    max_amount: Decimal
    min_periods: int
    max_periods: int
    annual_rate: Decimal
    frequency: Frequency
    method: Method
    day_count: DayCount = DayCount.THIRTY_360
    first_period: FirstPeriod = FirstPeriod.FULL
    due_day: int | None = None
    interest_only_periods: int | None = None
    fees: tuple[Fee, ...] = ()
    rounding: Rounding = field(default_factory=Rounding)
    date_roll: DateRoll = DateRoll.NONE
    penalty: Penalty | None = None
    allocation_order: tuple[Part, ...] = DEFAULT_ALLOCATION
    early_repayment: EarlyRepayment = field(default_factory=EarlyRepayment)
    tranches_allowed: bool = False

    def terms_for(
        self,
        principal: Decimal,
        periods: int,
        start_date: dt.date,
        *,
        calendar: Calendar | None = None,
        maturity_date: dt.date | None = None,
    ) -> Terms:
        """The schedule terms of one loan of this product (ranges are not checked here)."""
        return Terms(
            principal=principal,
            annual_rate=self.annual_rate,
            periods=periods,
            frequency=self.frequency,
            method=self.method,
            start_date=start_date,
            day_count=self.day_count,
            first_period=self.first_period,
            due_day=self.due_day,
            interest_only_periods=self.interest_only_periods,
            fees=self.fees,
            rounding=self.rounding,
            date_roll=self.date_roll,
            calendar=calendar or Calendar(),
            maturity_date=maturity_date,
        )
