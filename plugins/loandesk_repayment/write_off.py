"""Write-off (核销): an active loan taken off the books on a date. Its outstanding receivables
move to the ``written_off`` account (by funder share), close of business leaves it, and what
the borrower pays later is a recovery: allocated to the installments as any payment (the
borrower still owes them), booked ``cash`` against ``recovery_income``. The decision (who asked,
who approved) is the assets plugin's; this module only moves the money, through the loan book
(``LoanBook.write_off``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_, Conflict
from loandesk_repayment import ledger, loans
from loandesk_repayment.loans import refuse
from loandesk_repayment.models import PARTS, LedgerEntry, Loan

ZERO = Decimal("0.00")
WRITTEN_OFF = "written_off"  # the ledger account the receivables move to
RECOVERY_INCOME = "recovery_income"  # what later payments on a written-off loan credit


def write_off(
    session: Session,
    loan_id: uuid.UUID,
    written_off_on: dt.date,
    *,
    reason: str,
    approved_by: uuid.UUID | None = None,
) -> sdk.WrittenOff:
    """Write the active loan off on ``written_off_on`` (see the module's docstring)."""
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= 500:
        raise refuse("reason", N_("Say why the loan is written off (up to 500 characters)."))
    loan = loans.lock(session, loan_id)
    if loan.status != "active":
        raise Conflict(
            N_("Only an active loan can be written off; this one is %(status)s."),
            params={"status": loan.status},
        )
    if loan.disbursed_on is not None and written_off_on < loan.disbursed_on:
        raise refuse("written_off_on", N_("The loan was paid out later than this date."))
    owed = dict.fromkeys(PARTS, ZERO)
    for installment in loans.installments_of(session, loan, fresh=True):
        for part in PARTS:
            owed[part] += installment.outstanding(part)
    book = ledger.Book(session, loan, "write_off", written_off_on)
    for part in PARTS:
        book.line(WRITTEN_OFF, ledger.RECEIVABLE[part], owed[part])
    loan.status, loan.written_off_on = "written_off", written_off_on
    session.flush()
    total = sum(owed.values(), ZERO)
    amounts = {part: str(owed[part]) for part in PARTS}
    sdk.audit_record(
        session,
        "loan.write_off",
        "loan",
        loan.id,
        {
            "status": ["active", "written_off"],
            "written_off_on": written_off_on.isoformat(),
            "amounts": amounts,
            "total": str(total),
            "reason": reason,
            "approved_by": str(approved_by) if approved_by else None,
        },
    )
    sdk.emit(
        session,
        "loan.written_off",
        "loan",
        loan.id,
        {"written_off_on": written_off_on.isoformat(), "total": str(total), **amounts},
    )
    return sdk.WrittenOff(
        loan_id=loan.id,
        written_off_on=written_off_on,
        principal=owed["principal"],
        interest=owed["interest"],
        fees=owed["fees"],
        penalty=owed["penalty"],
        total=total,
    )


def recoveries(session: Session, loan_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    """Recovered per written-off loan: ``recovery_income``'s credits less its debits."""
    if not loan_ids:
        return {}
    rows = session.execute(
        select(
            LedgerEntry.loan_id,
            func.sum(LedgerEntry.credit),
            func.sum(LedgerEntry.debit),
        )
        .where(LedgerEntry.loan_id.in_(list(loan_ids)), LedgerEntry.account == RECOVERY_INCOME)
        .group_by(LedgerEntry.loan_id)
    )
    return {loan_id: Decimal(c or 0) - Decimal(d or 0) for loan_id, c, d in rows}


def is_recovery(session: Session, loan: Loan, payment_id: uuid.UUID) -> bool:
    """Whether the payment was posted to ``loan`` after its write-off (booked as a recovery)."""
    found = session.scalar(
        select(func.count())
        .select_from(LedgerEntry)
        .where(
            LedgerEntry.loan_id == loan.id,
            LedgerEntry.payment_id == payment_id,
            LedgerEntry.account == RECOVERY_INCOME,
        )
    )
    return bool(found)
