"""The loan ledger (分户账): double-entry lines written in the transaction of every change, split
by funder share (联合贷), and the check that a loan's ledger sums to its balances.

Accounts (debit-normal first):
- ``receivable_<part>`` (principal, interest, fees, penalty): what the borrower owes;
- ``cash``: money received from the borrower;
- ``funds_disbursed``: what the funders paid out (credit at activation);
- ``interest_income``, ``fee_income``, ``penalty_income``: what the loan earns as it is due;
- ``credit_balance``: money received beyond what was due (溢缴款), owed back to the borrower;
- ``written_off``: receivables taken off the books by a write-off (核销), and
  ``recovery_income``: what the borrower paid after it (write_off.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk_repayment.models import (
    PARTS,
    SHARE_UNIT,
    Installment,
    LedgerEntry,
    Loan,
    LoanFunder,
    Payment,
)

CENT = Decimal("0.01")
RECEIVABLE = {part: f"receivable_{part}" for part in PARTS}
INCOME = {"interest": "interest_income", "fees": "fee_income", "penalty": "penalty_income"}


@dataclass(frozen=True)
class Share:
    funder_id: uuid.UUID
    share: int  # millionths


def shares_of(session: Session, loan: Loan) -> list[Share]:
    rows = session.scalars(
        select(LoanFunder).where(LoanFunder.loan_id == loan.id).order_by(LoanFunder.funder_id)
    )
    return [Share(row.funder_id, row.share) for row in rows]


def split(amount: Decimal, shares: Sequence[Share]) -> list[tuple[uuid.UUID, Decimal]]:
    """``amount`` divided by share, each part rounded down to the cent, and the cents left
    over given to the largest share (the first of equal ones), so the parts sum to
    ``amount`` exactly. Negative amounts split as the mirror of their positive."""
    if amount < 0:
        return [(funder, -part) for funder, part in split(-amount, shares)]
    parts = [
        (s.funder_id, (amount * s.share / SHARE_UNIT).quantize(CENT, rounding=ROUND_DOWN))
        for s in shares
    ]
    largest = max(range(len(shares)), key=lambda i: (shares[i].share, -i))
    left = amount - sum((p for _, p in parts), Decimal(0))
    funder, part = parts[largest]
    parts[largest] = (funder, part + left)
    return parts


class Book:
    """The lines of one event (an activation, a payment, a reversal), written together."""

    def __init__(
        self,
        session: Session,
        loan: Loan,
        event: str,
        booked_on: dt.date,
        *,
        payment: Payment | None = None,
        shares: Sequence[Share] | None = None,
    ) -> None:
        self.session, self.loan, self.event, self.booked_on = session, loan, event, booked_on
        self.payment_id = payment.id if payment is not None else None
        self.shares = list(shares if shares is not None else shares_of(session, loan))
        self.debits = self.credits = Decimal(0)

    def line(
        self, debit_account: str, credit_account: str, amount: Decimal, *, by_funder: bool = True
    ) -> None:
        """``amount`` debited to one account and credited to the other, by funder share unless
        ``by_funder`` is false (the borrower's credit balance is nobody's share)."""
        if amount == 0:
            return
        parts = split(amount, self.shares) if by_funder else [(None, amount)]
        for funder_id, part in parts:
            if part == 0:
                continue
            self._add(debit_account, part, funder_id, debit=True)
            self._add(credit_account, part, funder_id, debit=False)

    def _add(
        self, account: str, amount: Decimal, funder_id: uuid.UUID | None, *, debit: bool
    ) -> None:
        # a negative amount (a reversal) goes to the other side, so both columns stay >= 0
        on_debit = debit == (amount > 0)
        size = abs(amount)
        self.session.add(
            LedgerEntry(
                loan_id=self.loan.id,
                account=account,
                debit=size if on_debit else Decimal("0.00"),
                credit=Decimal("0.00") if on_debit else size,
                funder_id=funder_id,
                event=self.event,
                payment_id=self.payment_id,
                booked_on=self.booked_on,
            )
        )
        if on_debit:
            self.debits += size
        else:
            self.credits += size


def account_balances(session: Session, loan: Loan) -> dict[str, Decimal]:
    """Debits minus credits of every account of ``loan``'s ledger."""
    rows = session.execute(
        select(LedgerEntry.account, func.sum(LedgerEntry.debit), func.sum(LedgerEntry.credit))
        .where(LedgerEntry.loan_id == loan.id)
        .group_by(LedgerEntry.account)
    )
    # sum() keeps the column's Money type: the totals come back as Decimal yuan
    return {account: Decimal(d or 0) - Decimal(c or 0) for account, d, c in rows}


def ledger_problems(session: Session, loan: Loan) -> list[str]:
    """Where ``loan``'s ledger and its balances disagree (empty: they match): each
    receivable equals what the installments still owe of that part, ``cash`` what the
    posted payments brought, ``credit_balance`` the loan's credit, and debits equal credits."""
    balances = account_balances(session, loan)
    problems = []
    installments = session.scalars(
        select(Installment).where(Installment.loan_id == loan.id, Installment.superseded.is_(False))
    )
    owed = dict.fromkeys(PARTS, Decimal(0))
    for installment in installments:
        for part in PARTS:
            owed[part] += installment.outstanding(part)
    if loan.status == "written_off":
        owed = dict.fromkeys(PARTS, Decimal(0))  # moved to ``written_off``, owed off the books
    for part in PARTS:
        found = balances.get(RECEIVABLE[part], Decimal(0))
        if found != owed[part]:
            problems.append(f"{RECEIVABLE[part]}: ledger {found}, installments {owed[part]}")
    received = session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.loan_id == loan.id, Payment.status == "posted"
        )
    )
    received_amount = Decimal(received or 0)
    if balances.get("cash", Decimal(0)) != received_amount:
        problems.append(f"cash: ledger {balances.get('cash')}, payments {received_amount}")
    credit = -balances.get("credit_balance", Decimal(0))
    if credit != loan.credit_balance:
        problems.append(f"credit_balance: ledger {credit}, loan {loan.credit_balance}")
    if sum(balances.values(), Decimal(0)) != 0:
        problems.append(f"debits and credits differ by {sum(balances.values(), Decimal(0))}")
    return problems


def ledger_matches(session: Session, loan: Loan) -> bool:
    """True when ``loan``'s ledger sums to its balances (``ledger_problems`` says where not)."""
    return not ledger_problems(session, loan)
