"""Events that become signals on a loan and rescore it at once: a payment that leaves an
amount overdue (the repayment plugin's ``payment.posted``), a borrower's new mobile or
address (the customers plugin's ``customer.updated`` naming those fields), and a broken
promise to pay (the collections plugin's ``collection.promise_broken`` on a
``collection_case``, its payload naming ``loan_id``). Each signal is keyed by its event, so
a redelivery adds nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_warning import scoring
from loandesk_warning.features import Ledger
from loandesk_warning.jobs import local_date, local_today
from loandesk_warning.models import Signal

CONTACT_FIELDS = {"mobile", "address"}


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def add_signal(
    session: Session,
    loan_id: uuid.UUID,
    kind: str,
    occurred_on: dt.date,
    source: str,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Keep the signal unless this event left it already; True when it is new."""
    exists = session.scalar(
        select(Signal.id).where(
            Signal.loan_id == loan_id, Signal.kind == kind, Signal.source == source
        )
    )
    if exists is not None:
        return False
    session.add(
        Signal(
            loan_id=loan_id, kind=kind, occurred_on=occurred_on, source=source,
            detail=detail or {},
        )
    )  # fmt: skip
    session.flush()
    sdk.audit_record(
        session, "warning.signal", "loan", loan_id,
        {"kind": kind, "occurred_on": occurred_on.isoformat(), "source": source},
    )  # fmt: skip
    return True


def _histories(session: Session, **narrow: Sequence[uuid.UUID]) -> list[sdk.LoanHistory]:
    try:
        return sdk.loan_book().histories(session, limit=1000, **narrow)  # type: ignore[arg-type]
    except sdk.NotFound:
        return []


def _has_loan_book() -> bool:
    try:
        sdk.loan_book()
    except sdk.NotFound:
        return False
    return True


def on_payment_posted(ctx: sdk.JobContext, event: sdk.Event) -> None:
    session = ctx.session
    loan_id = _uuid(event.record_id)
    histories = _histories(session, loan_ids=[loan_id]) if loan_id else []
    if not histories:
        if loan_id is not None and _has_loan_book():  # paid off: off the list at once
            scoring.rescore(session, [loan_id], local_today())
        return
    received = event.payload.get("received_on")
    day = dt.date.fromisoformat(received) if received else local_date(event.created_at)
    overdue = Ledger(histories[0]).overdue_at(day)
    if overdue > 0:
        add_signal(
            session, histories[0].loan.id, "partial_payment", day, str(event.id),
            {"overdue": str(overdue), "amount": event.payload.get("amount")},
        )  # fmt: skip
    scoring.rescore(session, [histories[0].loan.id], local_today())


def on_customer_updated(ctx: sdk.JobContext, event: sdk.Event) -> None:
    session = ctx.session
    changed = set(event.payload.get("fields") or ())
    customer_id = _uuid(event.record_id)
    if not changed & CONTACT_FIELDS or customer_id is None:
        return
    histories = _histories(session, customer_ids=[customer_id])
    day = local_date(event.created_at)
    for history in histories:
        add_signal(
            session, history.loan.id, "contact_change", day, str(event.id),
            {"fields": sorted(changed & CONTACT_FIELDS)},
        )  # fmt: skip
    if histories:
        scoring.rescore(session, [h.loan.id for h in histories], local_today())


def on_promise_broken(ctx: sdk.JobContext, event: sdk.Event) -> None:
    session = ctx.session
    loan_id = _uuid(event.payload.get("loan_id"))
    histories = _histories(session, loan_ids=[loan_id]) if loan_id else []
    if not histories:
        return
    add_signal(
        session, histories[0].loan.id, "promise_broken", local_date(event.created_at),
        str(event.id), {"case_id": event.record_id},
    )  # fmt: skip
    scoring.rescore(session, [histories[0].loan.id], local_today())
