"""Posting an early repayment (提前还款) and undoing it when its payment is reversed. One service
function, one transaction: the loan is locked, the installments not yet due are superseded
(kept, never deleted) by the early repayment's own line — due that day: the principal repaid
early, its accrued interest, the fee — and, for a partial one, the new schedule; then the
money is posted as an ordinary payment (``payments.post_payment``), which pays what is due
that day, that line included. Reversing the payment puts the superseded installments back.

Ledger: the interest and fees the replaced installments would have charged and the new ones
do not are reversed out of ``receivable_interest``/``receivable_fees`` (against the income
booked at activation), the fee is booked as ``fee_income`` (event ``reschedule``); the
payment's own lines are those of any payment. A reversal mirrors the ``reschedule`` lines
(event ``restore``), so ``ledger_matches`` holds throughout."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_, Conflict
from loandesk_repayment import cob_positions, early, ledger, loans, payments
from loandesk_repayment.checks import amount_of, local_today, refuse
from loandesk_repayment.early_models import EarlyRepayment
from loandesk_repayment.models import (
    PARTS,
    Allocation,
    Installment,
    LedgerEntry,
    Loan,
    Payment,
    loan_copies,
)

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class EarlyPosted:
    """An early repayment's outcome; ``replayed``: posted earlier with the same key."""

    early_repayment: EarlyRepayment
    payment: Payment
    replayed: bool = False


def fingerprint(
    loan_id: uuid.UUID,
    kind: str,
    recalculation: str | None,
    amount: Decimal,
    on: dt.date,
    reference: str,
) -> str:
    text = f"early|{loan_id}|{kind}|{recalculation or ''}|{amount:.2f}|{on.isoformat()}|{reference}"
    return hashlib.sha256(text.encode()).hexdigest()


def repaid_on(raw: Any, loan: Loan, *, future: bool = False) -> dt.date:
    """The day of an early repayment (``repaid_on``): not before the payout, nor (unless
    ``future``, for a quote) after today."""
    try:
        day = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise refuse("repaid_on", N_("Enter a date such as 2026-01-31.")) from None
    if loan.disbursed_on is not None and day < loan.disbursed_on:
        raise refuse("repaid_on", N_("The loan was paid out later than this date."))
    if not future and day > local_today():
        raise refuse("repaid_on", N_("Enter a date that is not in the future."))
    return day


def early_repay(
    session: Session,
    loan: Loan,
    amount: Any,
    on: Any,
    *,
    kind: str,
    recalculation: str | None = None,
    idempotency_key: str | None = None,
    posted_by: uuid.UUID | None = None,
    source: str = "staff",
    reference: str | None = None,
) -> EarlyPosted:
    """Repay ``loan`` early on ``on`` with ``amount``: ``kind`` ``full`` (settles it; the
    amount must cover the quote) or ``partial`` (with ``recalculation`` ``shorten_term`` or
    ``lower_installment``). With an ``idempotency_key`` the same request again answers what
    it posted (``replayed``); the key with another request is a ``Conflict``. Refused: 409
    when the loan or its product does not allow it (not active, not allowed, fewer than
    ``min_periods_paid`` installments paid), 422 naming the field otherwise."""
    if kind not in early.KINDS:
        raise refuse("kind", N_("Choose one of the options."))
    value = amount_of(amount, "amount")
    day = repaid_on(on, loan)
    recalculation = recalculation or None if kind == "partial" else None
    if kind == "partial" and recalculation is None:
        raise refuse("recalculation", N_("Choose shorten_term or lower_installment."))
    reference = (reference or "").strip()
    if len(reference) > 100:
        raise refuse("reference", N_("Enter at most 100 characters."))
    print_ = fingerprint(loan.id, kind, recalculation, value, day, reference)
    if idempotency_key and (earlier := _replay(session, idempotency_key, print_)):
        return earlier
    loan = loans.lock(session, loan.id)
    if idempotency_key and (earlier := _replay(session, idempotency_key, print_)):
        return earlier  # the same request got the lock first and committed
    where = early.position(session, loan, day)
    option = None
    if kind == "partial":
        recalculation = early.check_recalculation(where, recalculation)
    quoted = early.quote(session, loan, day, kind=kind, amount=value)
    if kind == "full" and value < quoted.total:
        raise refuse(
            "amount",
            N_("Repaying the loan in full on this day takes %(total)s."),
            total=f"{quoted.total:.2f}",
        )
    if kind == "partial":
        option = next(o for o in quoted.options if o.recalculation == recalculation)
    early_id = sdk.uuid7()
    replaced = where.future
    for installment in replaced:
        installment.superseded, installment.superseded_by_id = True, early_id
    session.flush()  # out of the unique numbering before the new rows take the numbers
    written = _write(session, loan, early_id, quoted, option)
    session.flush()
    posted = payments.post_payment(
        session, loan, value, day, source=source, reference=reference,
        idempotency_key=idempotency_key, posted_by=posted_by,
    )  # fmt: skip
    payment = posted.payment
    credit_used = _apply_credit(session, loan, payment, day)
    settled_now = _settle(loan, payment, day)
    waived = _book_reschedule(session, loan, payment, day, replaced, written, quoted.fee)
    record = EarlyRepayment(
        id=early_id,
        loan_id=loan.id,
        payment_id=payment.id,
        kind=kind,
        recalculation=recalculation,
        repaid_on=day,
        product_code=where.product.code,
        amount=value,
        credit_used=credit_used,
        arrears=quoted.due_total,
        principal=quoted.principal,
        interest=quoted.interest,
        fee=quoted.fee,
        interest_waived=waived["interest"],
        fees_waived=waived["fees"],
        periods_before=len(replaced),
        periods_after=option.periods_after if option else 0,
        fingerprint=print_,
        status="posted",
        posted_by_id=posted_by,
    )
    session.add(record)
    session.flush()
    # what post_payment told the plugins that follow arrears was before the schedule's rest
    # was paid and the loan settled: tell them again as the repayment leaves it
    sdk.loan_positions_moved(
        session, cob_positions.positions(session, loan.cob_date or day, [loan.id], {}, "payment")
    )
    figures = {
        "early_repayment_id": str(early_id),
        "payment_id": str(payment.id),
        "kind": kind,
        "recalculation": recalculation,
        "repaid_on": day.isoformat(),
        "amount": str(value),
        "principal": str(quoted.principal),
        "interest": str(quoted.interest),
        "fee": str(quoted.fee),
        "credit_used": str(credit_used),
        "periods": [len(replaced), record.periods_after],
    }
    sdk.audit_record(session, "loan.early_repay", "loan", loan.id, figures)
    sdk.emit(session, "loan.early_repaid", "loan", loan.id, figures)
    if settled_now:
        sdk.audit_record(session, "loan.settle", "loan", loan.id, {"status": ["active", "settled"]})
        sdk.emit(session, "loan.settled", "loan", loan.id, {"settled_on": day.isoformat()})
    return EarlyPosted(record, payment)


def _replay(session: Session, key: str, print_: str) -> EarlyPosted | None:
    payment = session.scalar(
        select(Payment)
        .where(Payment.idempotency_key == key)
        .execution_options(populate_existing=True)
    )
    if payment is None:
        return None
    found = session.scalar(select(EarlyRepayment).where(EarlyRepayment.payment_id == payment.id))
    if found is None or found.fingerprint != print_:
        raise Conflict(N_("This Idempotency-Key was used for another request."))
    return EarlyPosted(found, payment, replayed=True)


def _write(
    session: Session,
    loan: Loan,
    early_id: uuid.UUID,
    quoted: early.Quote,
    option: early.Option | None,
) -> list[Installment]:
    """The early repayment's own line (number of the current period, due that day), then
    the new schedule numbered on from it."""
    number = quoted.current_number
    rows = [
        _installment(loan, early_id, number, quoted.period_start, quoted.on,
                     quoted.principal, quoted.interest, quoted.fee)
    ]  # fmt: skip
    if option is not None:
        for offset, (row, fees) in enumerate(
            zip(option.installments, option.fees, strict=True), start=1
        ):
            rows.append(
                _installment(loan, early_id, number + offset, row.period_start, row.due_date,
                             row.principal, row.interest, fees)
            )  # fmt: skip
    session.add_all(rows)
    return rows


def _installment(
    loan: Loan,
    early_id: uuid.UUID,
    number: int,
    start: dt.date,
    due: dt.date,
    principal: Decimal,
    interest: Decimal,
    fees: Decimal,
) -> Installment:
    return Installment(
        loan_id=loan.id, **loan_copies(loan), number=number, period_start=start, due_date=due,
        principal_due=principal, interest_due=interest, fees_due=fees, penalty_due=ZERO,
        principal_paid=ZERO, interest_paid=ZERO, fees_paid=ZERO, penalty_paid=ZERO,
        status="pending", superseded=False, written_by_id=early_id,
    )  # fmt: skip


def _apply_credit(session: Session, loan: Loan, payment: Payment, day: dt.date) -> Decimal:
    """The loan's credit balance (溢缴款) pays what the payment left owing on the day, in the
    product's allocation order; recorded on the payment (its ``to_credit`` goes down by it),
    so reversing the payment gives the credit back."""
    if loan.credit_balance <= 0:
        return ZERO
    by_part, left, _ = payments.allocate_due(session, loan, payment, loan.credit_balance, day)
    used = loan.credit_balance - left
    if used:
        book = ledger.Book(session, loan, "payment", day, payment=payment)
        for part, amount in by_part.items():
            book.line("credit_balance", ledger.RECEIVABLE[part], amount)
        loan.credit_balance -= used
        payment.to_credit -= used
        session.add(
            Allocation(payment_id=payment.id, installment_id=None, part="credit", amount=-used)
        )
    return used


def _settle(loan: Loan, payment: Payment, day: dt.date) -> bool:
    """Settles the loan when the credit paid the last of it (the payment alone settles it in
    ``post_payment``); True when it did so here."""
    if loan.status != "active":
        return False
    session = Session.object_session(loan)
    assert session is not None
    if any(
        i.outstanding(p) for i in loans.installments_of(session, loan, fresh=True) for p in PARTS
    ):
        return False
    loan.status, loan.settled_on = "settled", day
    payment.settled_loan = True
    return True


def _book_reschedule(
    session: Session,
    loan: Loan,
    payment: Payment,
    day: dt.date,
    replaced: list[Installment],
    written: list[Installment],
    fee: Decimal,
) -> dict[str, Decimal]:
    """What the replaced installments still owed against what the new ones owe, by part;
    returns what is no longer charged (interest, fees: positive when waived)."""
    before = {p: sum((i.outstanding(p) for i in replaced), ZERO) for p in PARTS}
    after = {p: sum((i.due(p) for i in written), ZERO) for p in PARTS}
    after["fees"] -= fee  # the early repayment fee is its own line
    if before["principal"] != after["principal"]:  # the arithmetic above is wrong: refuse
        raise Conflict(N_("The new schedule does not repay the principal left; nothing posted."))
    book = ledger.Book(session, loan, "reschedule", day, payment=payment)
    for part in ("interest", "fees", "penalty"):
        book.line(ledger.RECEIVABLE[part], ledger.INCOME[part], after[part] - before[part])
    book.line(ledger.RECEIVABLE["fees"], ledger.INCOME["fees"], fee)
    return {p: before[p] - after[p] for p in ("interest", "fees")}


def undo(session: Session, loan: Loan, payment: Payment) -> EarlyRepayment | None:
    """When ``payment`` (being reversed) was an early repayment: the installments it wrote are
    superseded, those it replaced are the schedule again exactly as they were, and its
    ``reschedule`` ledger lines are mirrored. Called by ``payments.reverse_payment``."""
    record = session.scalar(
        select(EarlyRepayment).where(
            EarlyRepayment.payment_id == payment.id, EarlyRepayment.status == "posted"
        )
    )
    if record is None:
        return None
    replaced = list(
        session.scalars(
            select(Installment).where(
                Installment.loan_id == loan.id,
                Installment.superseded_by_id == record.id,
                or_(Installment.written_by_id.is_(None), Installment.written_by_id != record.id),
            )
        )
    )
    for installment in session.scalars(
        select(Installment).where(
            Installment.written_by_id == record.id, Installment.superseded.is_(False)
        )
    ):
        installment.superseded, installment.superseded_by_id = True, record.id
    session.flush()  # the written rows let go of their numbers first
    for installment in replaced:
        installment.superseded, installment.superseded_by_id = False, None
    day = local_today()
    for line in session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.payment_id == payment.id, LedgerEntry.event == "reschedule"
        )
    ):
        session.add(
            LedgerEntry(
                loan_id=loan.id, account=line.account, debit=line.credit, credit=line.debit,
                funder_id=line.funder_id, event="restore", payment_id=payment.id, booked_on=day,
            )
        )  # fmt: skip
    record.status, record.reversed_at = "reversed", sdk.utcnow()
    session.flush()
    sdk.audit_record(
        session,
        "loan.early_repay_reverse",
        "loan",
        loan.id,
        {"early_repayment_id": str(record.id), "payment_id": str(payment.id)},
    )
    sdk.emit(
        session,
        "loan.early_repayment_reversed",
        "loan",
        loan.id,
        {"early_repayment_id": str(record.id), "payment_id": str(payment.id)},
    )
    return record
