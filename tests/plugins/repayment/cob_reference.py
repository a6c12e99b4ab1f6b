"""A slow reference of close of business (日终), loan by loan in plain Python with exact
fractions, written from the definitions in docs/repayment.md ("Close of business") and not
from the SQL: the tests compare the set-based run with it, date after date.

It keeps its own accrual state per installment (its segments: each a base and a number of
days) and reads from the database only what payments and early repayments write: the
installments in force and what has been paid of each part."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select

from loandesk.finance import DayCount, PenaltyBase, codec

BUCKETS = (("M0", 0), ("M1", 30), ("M2", 60), ("M3", 90), ("M3+", None))


def bucket_of(dpd: int, buckets: tuple[tuple[str, int | None], ...] = BUCKETS) -> str:
    for name, highest in buckets:
        if highest is None or dpd <= highest:
            return name
    raise AssertionError("the last bucket has no bound")


def cents(value: Decimal) -> int:
    return int(value * 100)


def half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


@dataclass
class Accrual:
    segments: list[list[int]] = field(default_factory=list)  # [base in 分, days]
    days: int = 0  # charged in all
    overdue_since: dt.date | None = None
    dpd: int = 0

    def charged(self, daily: Fraction) -> int:
        return sum(half_up(base * daily * days) for base, days in self.segments)


@dataclass
class LoanState:
    cob_date: dt.date | None = None
    dpd: int = 0
    bucket: str = "M0"
    overdue_principal: int = 0
    overdue_amount: int = 0


class Reference:
    def __init__(self) -> None:
        self.accruals: dict[uuid.UUID, Accrual] = {}
        self.loans: dict[uuid.UUID, LoanState] = {}
        self.overdue_events: list[uuid.UUID] = []
        self.bucket_events: list[tuple[uuid.UUID, str, str]] = []
        self.penalty: dict[uuid.UUID, int] = {}  # 分 charged per installment

    def run(self, session: Any, day: dt.date) -> None:
        """Close of business for ``day``, loan by loan, over the tenant's active loans."""
        from loandesk_repayment.models import Installment, Loan

        loans = session.scalars(
            select(Loan).where(Loan.status == "active").execution_options(populate_existing=True)
        )
        for loan in loans:
            state = self.loans.setdefault(loan.id, LoanState())
            if state.cob_date is not None and state.cob_date >= day:
                continue
            installments = session.scalars(
                select(Installment)
                .where(Installment.loan_id == loan.id, Installment.superseded.is_(False))
                .execution_options(populate_existing=True)
            )
            self._loan(loan, list(installments), state, day)

    def _loan(self, loan: Any, installments: list[Any], state: LoanState, day: dt.date) -> None:
        product = codec.product_terms_from_dict(loan.product_terms)
        penalty = product.penalty
        year = 365 if product.day_count == DayCount.ACTUAL_365 else 360
        daily = Fraction(penalty.annual_rate) / year if penalty else Fraction(0)
        oldest_unpaid: dt.date | None = None
        overdue_principal = overdue_amount = 0
        for row in installments:
            accrual = self.accruals.setdefault(row.id, Accrual())
            charged = self.penalty.get(row.id, 0)
            owed = {
                "principal": cents(row.principal_due - row.principal_paid),
                "interest": cents(row.interest_due - row.interest_paid),
                "fees": cents(row.fees_due - row.fees_paid),
                "penalty": charged - cents(row.penalty_paid),
            }
            unpaid = sum(owed.values()) > 0
            if row.due_date >= day:
                continue
            if unpaid:
                if oldest_unpaid is None or row.due_date < oldest_unpaid:
                    oldest_unpaid = row.due_date
                if accrual.overdue_since is None:
                    accrual.overdue_since = row.due_date + dt.timedelta(days=1)
                    self.overdue_events.append(row.id)
                accrual.dpd = (day - row.due_date).days
            elif accrual.dpd == 0:
                continue  # paid and already seen paid: nothing moves
            else:
                accrual.dpd = 0
            if penalty is not None and penalty.annual_rate > 0:
                base = owed["principal"]
                if penalty.base == PenaltyBase.OVERDUE_PRINCIPAL_AND_INTEREST:
                    base += owed["interest"]
                if not accrual.segments or accrual.segments[-1][0] != base:
                    accrual.segments.append([base, 0])
                chargeable = (day - row.due_date).days - penalty.grace_days
                if base > 0 and chargeable > accrual.days:
                    accrual.segments[-1][1] += chargeable - accrual.days
                    accrual.days = chargeable
                self.penalty[row.id] = accrual.charged(daily)
        for row in installments:
            if row.due_date < day:
                charged = self.penalty.get(row.id, 0)
                overdue_principal += cents(row.principal_due - row.principal_paid)
                overdue_amount += (
                    cents(row.principal_due - row.principal_paid)
                    + cents(row.interest_due - row.interest_paid)
                    + cents(row.fees_due - row.fees_paid)
                    + charged
                    - cents(row.penalty_paid)
                )
        dpd = (day - oldest_unpaid).days if oldest_unpaid else 0
        bucket = bucket_of(dpd)
        if bucket != state.bucket:
            self.bucket_events.append((loan.id, state.bucket, bucket))
        state.cob_date, state.dpd, state.bucket = day, dpd, bucket
        state.overdue_principal, state.overdue_amount = overdue_principal, overdue_amount

    def paid(self, session: Any, loan_id: uuid.UUID) -> None:
        """A payment (or an early repayment) just posted to a loan close of business has
        seen: its arrears as of its business date from what is now paid, as the repayment
        plugin restates them at once (docs/repayment.md): the DPD of what is still unpaid,
        the bucket (a move is an event), the overdue amounts; penalty is left to the next
        close of business, and so is the DPD of an installment now paid."""
        from loandesk_repayment.models import Installment

        state = self.loans.get(loan_id)
        if state is None or state.cob_date is None:
            return
        day = state.cob_date
        installments = session.scalars(
            select(Installment)
            .where(Installment.loan_id == loan_id, Installment.superseded.is_(False))
            .execution_options(populate_existing=True)
        )
        oldest_unpaid: dt.date | None = None
        overdue_principal = overdue_amount = 0
        for row in installments:
            if row.due_date >= day:
                continue
            owed = (
                cents(row.principal_due - row.principal_paid)
                + cents(row.interest_due - row.interest_paid)
                + cents(row.fees_due - row.fees_paid)
                + self.penalty.get(row.id, 0)
                - cents(row.penalty_paid)
            )
            overdue_principal += cents(row.principal_due - row.principal_paid)
            overdue_amount += owed
            if owed > 0:
                self.accruals.setdefault(row.id, Accrual()).dpd = (day - row.due_date).days
                if oldest_unpaid is None or row.due_date < oldest_unpaid:
                    oldest_unpaid = row.due_date
        dpd = (day - oldest_unpaid).days if oldest_unpaid else 0
        bucket = bucket_of(dpd)
        if bucket != state.bucket:
            self.bucket_events.append((loan_id, state.bucket, bucket))
        state.dpd, state.bucket = dpd, bucket
        state.overdue_principal, state.overdue_amount = overdue_principal, overdue_amount
