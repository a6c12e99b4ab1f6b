"""Payments (还款): posting one (allocated by the product's order, oldest due installment
first, what is beyond the due kept as credit) and reversing one (冲正), each in one
transaction with its allocations, ledger lines, audit event and domain event. No Flask.

What a payment pays: the installments already due on the day it was received
(``due_date <= received_on``), oldest first, and inside each the parts in the product's
allocation order (e.g. penalty → fees → interest → principal). Money beyond what is due is the
loan's credit balance (溢缴款); it is not applied to installments not yet due: that is an early
repayment, which the borrower asks for (it has its own terms and fee). Close of business
applies the credit to installments as they fall due (cob_credit.py).

Reversal restores the state before the payment exactly, so it is allowed only for a loan's
latest payment still standing: a later payment was allocated against the state this one left,
and undoing this one under it would leave that allocation wrong (it might have gone to another
installment or part). Staff reverse the later ones first, newest first, then post them again;
each step is its own audited change, which is how a bookkeeper corrects a ledger.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_, Conflict, finance
from loandesk_repayment import cob_positions, cob_settings, ledger, loans, write_off
from loandesk_repayment.loans import refuse
from loandesk_repayment.models import PARTS, PAYMENT_SOURCES, Allocation, Installment, Loan, Payment
from loandesk_repayment.write_off import RECOVERY_INCOME

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Posted:
    """A posting's outcome: the payment, and whether it was posted earlier with the same
    idempotency key (``replayed``: nothing was posted this time)."""

    payment: Payment
    replayed: bool = False


def fingerprint(loan_id: uuid.UUID, amount: Decimal, received_on: dt.date, reference: str) -> str:
    """What tells a retried request from another one sent with the same key."""
    text = f"{loan_id}|{amount:.2f}|{received_on.isoformat()}|{reference}"
    return hashlib.sha256(text.encode()).hexdigest()


def post_payment(
    session: Session,
    loan: Loan,
    amount: Any,
    received_on: Any,
    *,
    source: str,
    reference: str | None = None,
    idempotency_key: str | None = None,
    posted_by: uuid.UUID | None = None,
) -> Posted:
    """Post ``amount`` received on ``received_on`` for ``loan`` (staff, api or import).

    With an ``idempotency_key``, a key posted before answers its payment (``replayed``) and
    posts nothing; the same key with another loan, amount, date or reference is a
    ``Conflict``. The loan is locked while posting, and the key is unique in the database,
    so two requests with one key at the same moment post once."""
    value = loans.amount_of(amount, "amount")
    day = _day(received_on, loan)
    if source not in PAYMENT_SOURCES:
        raise refuse("source", N_("Choose one of the options."))
    reference = (reference or "").strip()
    if len(reference) > 100:
        raise refuse("reference", N_("Enter at most 100 characters."))
    print_ = fingerprint(loan.id, value, day, reference)
    if idempotency_key and (earlier := _replay(session, idempotency_key, print_)):
        return earlier
    loan = loans.lock(session, loan.id)
    if idempotency_key and (earlier := _replay(session, idempotency_key, print_)):
        return earlier  # the same request got the lock first and committed
    if loan.status not in ("active", "written_off"):  # written off: a recovery
        raise Conflict(
            N_("Payments are posted to active loans only; this one is %(status)s."),
            params={"status": loan.status},
        )
    sequence = session.scalar(
        select(func.coalesce(func.max(Payment.sequence), 0)).where(Payment.loan_id == loan.id)
    )
    payment = Payment(
        loan_id=loan.id,
        sequence=int(sequence or 0) + 1,
        amount=value,
        to_credit=ZERO,
        received_on=day,
        source=source,
        reference=reference or None,
        idempotency_key=idempotency_key,
        fingerprint=print_,
        status="posted",
        posted_by_id=posted_by,
        settled_loan=False,
    )
    try:
        with session.begin_nested():
            session.add(payment)  # inside: the savepoint's rollback lets go of it
            session.flush()
    except IntegrityError:
        # another loan's posting with the same key committed first (it held another lock)
        if idempotency_key and (earlier := _replay(session, idempotency_key, print_)):
            return earlier
        raise
    _allocate(session, loan, payment)
    session.flush()
    _arrears_moved(session, loan, "payment")
    sdk.audit_record(
        session,
        "payment.post",
        "loan",
        loan.id,
        {
            "payment_id": str(payment.id),
            "amount": str(value),
            "received_on": day.isoformat(),
            "source": source,
            "reference": reference or None,
            "to_credit": str(payment.to_credit),
        },
    )
    sdk.emit(
        session,
        "payment.posted",
        "loan",
        loan.id,
        {"payment_id": str(payment.id), "amount": str(value), "received_on": day.isoformat()},
    )
    if payment.settled_loan:
        sdk.audit_record(session, "loan.settle", "loan", loan.id, {"status": ["active", "settled"]})
        sdk.emit(session, "loan.settled", "loan", loan.id, {"settled_on": day.isoformat()})
    return Posted(payment)


def _arrears_moved(session: Session, loan: Loan, cause: str) -> None:
    """A payment or a reversal on a loan close of business has seen (``cob_date``): its DPD,
    bucket and overdue amounts as of the business date (``cob_positions.arrears_date``) now (a
    bucket that moves is an event, as at close of business), and the plugins that follow
    arrears are told (``loandesk_loan_positions``: collections closes the case of a loan
    paid up). On a written-off loan, which close of business no longer takes, the arrears
    are restated as of the day it last did (the borrower still owes them) and the plugins
    are told of a recovery (cause ``recovery_payment`` / ``recovery_reversal``: the assets
    plugin restates what was recovered, collections counts it collected and closes the case
    once paid)."""
    if loan.status == "written_off":
        day = loan.cob_date or loan.written_off_on or loans.local_today()
        before = loan.bucket
        if loan.cob_date is not None:
            cob_positions.refresh(session, loan.id, day, cob_settings.buckets())
            session.expire(loan, ["days_past_due", "bucket", "overdue_principal", "overdue_amount"])
        sdk.loan_positions_moved(
            session,
            cob_positions.positions(
                session, day, [loan.id], {loan.id: before}, f"recovery_{cause}"
            ),
        )
        return
    as_of = cob_positions.arrears_date(session, loan.cob_date)
    if as_of is None:
        return
    day = as_of
    before, after = cob_positions.refresh(session, loan.id, day, cob_settings.buckets())
    session.expire(loan, ["days_past_due", "bucket", "overdue_principal", "overdue_amount"])
    if before != after:
        sdk.emit(
            session,
            "loan.bucket_changed",
            "loan",
            loan.id,
            {"from": before, "to": after, "business_date": day.isoformat(), "cause": cause},
        )
    if sdk.hook_implemented("loandesk_loan_positions"):
        sdk.loan_positions_moved(
            session, cob_positions.positions(session, day, [loan.id], {loan.id: before}, cause)
        )


def _day(raw: Any, loan: Loan) -> dt.date:
    try:
        day = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise refuse("received_on", N_("Enter a date such as 2026-01-31.")) from None
    if loan.disbursed_on is not None and day < loan.disbursed_on:
        raise refuse("received_on", N_("The loan was paid out later than this date."))
    if day > loans.local_today():
        raise refuse("received_on", N_("Enter a date that is not in the future."))
    return day


def _replay(session: Session, key: str, print_: str) -> Posted | None:
    found = session.scalar(
        select(Payment)
        .where(Payment.idempotency_key == key)
        .execution_options(populate_existing=True)
    )
    if found is None:
        return None
    if found.fingerprint != print_:
        raise Conflict(N_("This Idempotency-Key was used for another request."))
    return Posted(found, replayed=True)


def allocate_due(
    session: Session,
    loan: Loan,
    payment: Payment,
    amount: Decimal,
    day: dt.date,
    *,
    every_installment: bool = False,
) -> tuple[dict[str, Decimal], Decimal, list[Installment]]:
    """Spread ``amount`` over what is due on ``day`` (over every installment with
    ``every_installment``: a written-off loan is owed whole), oldest installment first, each
    in the product's allocation order, writing the payment's allocation rows and restating
    the installments; (paid by part, what is left, the installments in force)."""
    named = [
        str(p) for p in finance.codec.product_terms_from_dict(loan.product_terms).allocation_order
    ]
    # a part the product's order leaves out is paid last, so a loan can always be settled
    order = named + [p for p in PARTS if p not in named]
    left = amount
    by_part: dict[str, Decimal] = defaultdict(Decimal)
    installments = loans.installments_of(session, loan, fresh=True)
    for installment in installments:
        if left == 0 or (installment.due_date > day and not every_installment):
            break
        for part in order:
            take = min(left, installment.outstanding(part))
            if take <= 0:
                continue
            setattr(installment, f"{part}_paid", installment.paid(part) + take)
            session.add(
                Allocation(
                    payment_id=payment.id, installment_id=installment.id, part=part, amount=take
                )
            )
            by_part[part] += take
            left -= take
        _restate(installment, day)
    return by_part, left, installments


def _allocate(session: Session, loan: Loan, payment: Payment) -> None:
    recovery = loan.status == "written_off"
    by_part, left, installments = allocate_due(
        session, loan, payment, payment.amount, payment.received_on, every_installment=recovery
    )
    event = "recovery" if recovery else "payment"
    book = ledger.Book(session, loan, event, payment.received_on, payment=payment)
    for part in PARTS:
        # written off: the receivables left the books, what comes in is recovery income
        book.line("cash", RECOVERY_INCOME if recovery else ledger.RECEIVABLE[part], by_part[part])
    if left > 0:
        payment.to_credit = left
        loan.credit_balance += left
        session.add(
            Allocation(payment_id=payment.id, installment_id=None, part="credit", amount=left)
        )
        book.line("cash", "credit_balance", left, by_funder=False)
    if recovery:
        return  # a written-off loan stays written off, however much comes back
    if all(sum((i.outstanding(p) for p in PARTS), ZERO) == 0 for i in installments):
        loan.status, loan.settled_on = "settled", payment.received_on
        payment.settled_loan = True


def _restate(installment: Installment, day: dt.date | None) -> None:
    """Status from the amounts alone: all paid, some, nothing."""
    if all(installment.outstanding(p) == 0 for p in PARTS):
        if installment.status != "paid":
            installment.paid_on = day
        installment.status = "paid"
        return
    installment.paid_on = None
    paid = any(installment.paid(p) > 0 for p in PARTS)
    installment.status = "partial" if paid else "pending"


def reverse_payment(
    session: Session, payment: Payment, reason: str, *, reversed_by: uuid.UUID | None = None
) -> Payment:
    """Reverse ``payment`` (冲正) for ``reason``: its allocations and ledger lines are
    mirrored, every installment it paid and the loan's credit are what they were before it,
    and a loan it settled is active again. Only a loan's latest payment still standing can
    be reversed (see the module's docstring); a reversed payment cannot be reversed again."""
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= 500:
        raise refuse("reason", N_("Say why the payment is reversed (up to 500 characters)."))
    loan = loans.lock(session, payment.loan_id)
    payment = session.scalars(
        select(Payment).where(Payment.id == payment.id).execution_options(populate_existing=True)
    ).one()
    if payment.status == "reversed":
        raise Conflict(N_("This payment is already reversed."))
    later = list(
        session.scalars(
            select(Payment.sequence)
            .where(
                Payment.loan_id == loan.id,
                Payment.status == "posted",
                Payment.sequence > payment.sequence,
            )
            .order_by(Payment.sequence)
        )
    )
    if later:
        raise Conflict(
            N_(
                "Later payments (%(numbers)s) were allocated after this one: reverse them "
                "first, newest first, then post them again."
            ),
            params={"numbers": ", ".join(f"#{n}" for n in later)},
        )
    if loan.credit_balance < payment.to_credit:
        raise Conflict(N_("The credit this payment left has been used since."))
    recovery = loan.status == "written_off"
    if recovery and not write_off.is_recovery(session, loan, payment.id):
        raise Conflict(N_("This payment was posted before the loan was written off."))
    rows = list(
        session.scalars(
            select(Allocation).where(
                Allocation.payment_id == payment.id, Allocation.reversal.is_(False)
            )
        )
    )
    touched = {i.id: i for i in loans.installments_of(session, loan, fresh=True)}
    by_part: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        session.add(
            Allocation(
                payment_id=payment.id,
                installment_id=row.installment_id,
                part=row.part,
                amount=-row.amount,
                reversal=True,
            )
        )
        if row.installment_id is None:
            continue
        installment = touched[row.installment_id]
        setattr(installment, f"{row.part}_paid", installment.paid(row.part) - row.amount)
        by_part[row.part] += row.amount
    for installment_id in {r.installment_id for r in rows if r.installment_id is not None}:
        _restate(touched[installment_id], None)
    book = ledger.Book(session, loan, "reversal", loans.local_today(), payment=payment)
    for part in PARTS:
        credited = RECOVERY_INCOME if recovery else ledger.RECEIVABLE[part]
        book.line("cash", credited, -by_part[part])
    if payment.to_credit:
        loan.credit_balance -= payment.to_credit
        book.line("cash", "credit_balance", -payment.to_credit, by_funder=False)
    reopened = loan.status == "settled" and payment.settled_loan
    if reopened:
        loan.status, loan.settled_on = "active", None
    from loandesk_repayment import early_post  # it builds on this module

    early_post.undo(session, loan, payment)  # an early repayment's schedule is put back
    payment.status = "reversed"
    payment.reversed_at, payment.reversed_by_id = sdk.utcnow(), reversed_by
    payment.reversal_reason = reason
    session.flush()
    _arrears_moved(session, loan, "reversal")
    diff = {"payment_id": str(payment.id), "amount": str(payment.amount), "reason": reason}
    if reopened:
        diff["status"] = ["settled", "active"]  # type: ignore[assignment]
    sdk.audit_record(session, "payment.reverse", "loan", loan.id, diff)
    sdk.emit(
        session,
        "payment.reversed",
        "loan",
        loan.id,
        {"payment_id": str(payment.id), "amount": str(payment.amount), "reopened": reopened},
    )
    return payment


def payments_of(session: Session, loan: Loan) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment).where(Payment.loan_id == loan.id).order_by(Payment.sequence)
        )
    )


def allocations_of(session: Session, payment: Payment) -> list[Allocation]:
    return list(
        session.scalars(
            select(Allocation)
            .where(Allocation.payment_id == payment.id)
            .order_by(Allocation.reversal, Allocation.id)  # ids rise in the order written
        )
    )
