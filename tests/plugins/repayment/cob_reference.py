"""A slow reference of close of business (日终), loan by loan in plain Python with exact
fractions, written from the definitions in docs/repayment.md ("Close of business") and not
from the SQL: the tests compare the set-based run with it, date after date.

It keeps its own accrual state per installment (its segments: each a base and a number of
days) and its own use of each loan's credit balance (溢缴款), and reads from the database
only what payments and early repayments write: the installments in force, what their
allocations paid of each part, and what they left as credit."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select

from loandesk.finance import DayCount, PenaltyBase, codec

PARTS = ("principal", "interest", "fees", "penalty")

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
        self.credit_paid: dict[tuple[uuid.UUID, str], int] = {}  # 分 the credit paid, by part
        self.credit_used: dict[uuid.UUID, int] = {}  # 分 of each loan's credit applied
        self.credit_events: list[tuple[uuid.UUID, int]] = []
        self.business_date: dt.date | None = None  # the latest run

    def _paid(self, session: Any, loan_id: uuid.UUID) -> dict[tuple[uuid.UUID, str], int]:
        """What each part of each installment has been paid: the payments' allocations (a
        reversal's rows are negative) and the credit this reference applied."""
        from loandesk_repayment.models import Allocation, Payment

        rows = session.execute(
            select(Allocation.installment_id, Allocation.part, func.sum(Allocation.amount))
            .join(Payment, Payment.id == Allocation.payment_id)
            .where(Payment.loan_id == loan_id, Allocation.installment_id.is_not(None))
            .group_by(Allocation.installment_id, Allocation.part)
        )
        found = {(i, part): cents(Decimal(amount)) for i, part, amount in rows}
        for key, amount in self.credit_paid.items():
            if amount:
                found[key] = found.get(key, 0) + amount
        return found

    def credit(self, session: Any, loan_id: uuid.UUID) -> int:
        """The loan's credit in 分: what its posted payments left as credit, less what this
        reference applied."""
        from loandesk_repayment.models import Payment

        left = session.scalar(
            select(func.coalesce(func.sum(Payment.to_credit), 0)).where(
                Payment.loan_id == loan_id, Payment.status == "posted"
            )
        )
        return cents(Decimal(left or 0)) - self.credit_used.get(loan_id, 0)

    def _owed(self, row: Any, paid: dict[tuple[uuid.UUID, str], int], part: str) -> int:
        if part == "penalty":
            due = self.penalty.get(row.id, 0)
        else:
            due = cents(getattr(row, f"{part}_due"))
        return due - paid.get((row.id, part), 0)

    def _apply_credit(
        self,
        loan: Any,
        installments: list[Any],
        paid: dict[tuple[uuid.UUID, str], int],
        credit: int,
        day: dt.date,
    ) -> None:
        """The credit pays what is due on ``day``, oldest first, in the allocation order."""
        product = codec.product_terms_from_dict(loan.product_terms)
        named = [str(p) for p in product.allocation_order]
        order = named + [p for p in PARTS if p not in named]
        used = 0
        for row in sorted(installments, key=lambda r: (r.due_date, r.number)):
            if row.due_date > day:
                continue
            for part in order:
                take = min(credit - used, self._owed(row, paid, part))
                if take <= 0:
                    continue
                paid[(row.id, part)] = paid.get((row.id, part), 0) + take
                key = (row.id, part)
                self.credit_paid[key] = self.credit_paid.get(key, 0) + take
                used += take
        if used:
            self.credit_used[loan.id] = self.credit_used.get(loan.id, 0) + used
            self.credit_events.append((loan.id, used))

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
            paid = self._paid(session, loan.id)
            rows = list(installments)
            if not self._has_work(rows, state, day, paid):
                continue  # nothing falls due or is overdue, nothing to reset: not taken
            credit = self.credit(session, loan.id)
            self._loan(loan, rows, state, day, paid, credit)
        self.business_date = day

    def _has_work(
        self,
        installments: list[Any],
        state: LoanState,
        day: dt.date,
        paid: dict[tuple[uuid.UUID, str], int],
    ) -> bool:
        """Close of business takes a loan only with work on ``day``: an installment due on
        or before it with something owed, one still counting days past due, or arrears on
        the loan (docs/repayment.md)."""
        for row in installments:
            if row.due_date <= day and sum(self._owed(row, paid, p) for p in PARTS) > 0:
                return True
            if self.accruals.get(row.id, Accrual()).dpd != 0:
                return True
        return bool(state.dpd or state.overdue_amount)

    def _loan(
        self,
        loan: Any,
        installments: list[Any],
        state: LoanState,
        day: dt.date,
        paid: dict[tuple[uuid.UUID, str], int],
        credit: int,
    ) -> None:
        if credit > 0:
            self._apply_credit(loan, installments, paid, credit, day)
        product = codec.product_terms_from_dict(loan.product_terms)
        penalty = product.penalty
        year = 365 if product.day_count == DayCount.ACTUAL_365 else 360
        daily = Fraction(penalty.annual_rate) / year if penalty else Fraction(0)
        oldest_unpaid: dt.date | None = None
        overdue_principal = overdue_amount = 0
        for row in installments:
            accrual = self.accruals.setdefault(row.id, Accrual())
            owed = {part: self._owed(row, paid, part) for part in PARTS}
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
                overdue_principal += self._owed(row, paid, "principal")
                overdue_amount += sum(self._owed(row, paid, part) for part in PARTS)
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
        # as of the business date: a loan without work was not taken, its arrears were 0
        day = max(state.cob_date, self.business_date or state.cob_date)
        installments = session.scalars(
            select(Installment)
            .where(Installment.loan_id == loan_id, Installment.superseded.is_(False))
            .execution_options(populate_existing=True)
        )
        paid = self._paid(session, loan_id)
        oldest_unpaid: dt.date | None = None
        overdue_principal = overdue_amount = 0
        for row in installments:
            if row.due_date >= day:
                continue
            owed = sum(self._owed(row, paid, part) for part in PARTS)
            overdue_principal += self._owed(row, paid, "principal")
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
