"""Write-off (核销) with maker-checker: one staff member asks (申请人, ``assets.write_off_request``)
with a reason, another approves or rejects (复核人, ``assets.write_off_approve``): never the one
who asked, and never a collector (催收员), whatever permissions their roles were given. On
approval the loan book writes the loan off (the repayment plugin owns loans and the ledger),
and the amounts it took off the books are kept here; payments after it are recoveries,
restated on the request after each one (``classify.restate_recoveries``). No Flask."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_
from loandesk_assets.classify import loan_or_404, local_today, refuse
from loandesk_assets.models import LoanClass, WriteOff

COLLECTOR_ROLE = "collector"


def _reason(raw: str | None, field: str = "reason") -> str:
    reason = (raw or "").strip()
    if not 1 <= len(reason) <= 500:
        raise refuse(field, N_("Say why (up to 500 characters)."))
    return reason


def _changed(session: Session, row: WriteOff, what: str, diff: dict[str, Any]) -> None:
    sdk.audit_record(
        session,
        f"assets.write_off.{what}",
        "loan",
        row.loan_id,
        {"write_off_id": str(row.id), **diff},
    )
    sdk.emit(
        session,
        f"write_off.{what}",
        "loan",
        row.loan_id,
        {"write_off_id": str(row.id), **{k: v for k, v in diff.items() if k != "status"}},
    )


def request(session: Session, loan_id: Any, reason: str | None, *, user_id: uuid.UUID) -> WriteOff:
    """Ask for the active loan to be written off; one open request per loan."""
    why = _reason(reason)
    loan = loan_or_404(session, loan_id)
    if loan.status != "active":
        raise sdk.Conflict(N_("Only an active loan can be written off."))
    row = WriteOff(
        loan_id=loan.id,
        loan_number=loan.number,
        customer_id=loan.customer_id,
        owner_id=loan.owner_id,
        org_unit_id=loan.org_unit_id,
        status="requested",
        reason=why,
        requested_by_id=user_id,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise sdk.Conflict(N_("This loan already has a write-off request.")) from None
    _changed(session, row, "requested", {"status": [None, "requested"], "reason": why})
    return row


def get(session: Session, write_off_id: Any, *, lock: bool = False) -> WriteOff:
    query = select(WriteOff).where(WriteOff.id == write_off_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = session.scalar(query)
    if row is None:
        raise sdk.NotFound(N_("No such write-off request."))
    return row


def _review(session: Session, write_off_id: Any, reviewer: Any) -> WriteOff:
    row = get(session, write_off_id, lock=True)
    if row.status != "requested":
        raise sdk.Conflict(N_("This request has been reviewed already."))
    if row.requested_by_id == reviewer.id:
        raise sdk.Forbidden(N_("You asked for this write-off: another person must review it."))
    if COLLECTOR_ROLE in {role.key for role in getattr(reviewer, "roles", ())}:
        raise sdk.Forbidden(N_("Collectors may not review write-offs."))
    return row


def approve(
    session: Session,
    write_off_id: Any,
    *,
    reviewer: Any,
    note: str | None = None,
    written_off_on: dt.date | None = None,
) -> WriteOff:
    """The checker approves: the loan book writes the loan off today (or ``written_off_on``)."""
    row = _review(session, write_off_id, reviewer)
    day = written_off_on or local_today()
    done = sdk.loan_book().write_off(
        session, row.loan_id, day, reason=row.reason, approved_by=reviewer.id
    )
    row.status, row.reviewed_by_id, row.reviewed_at = "approved", reviewer.id, sdk.utcnow()
    row.review_note = (note or "").strip()[:500] or None
    row.written_off_on = done.written_off_on
    row.principal, row.interest, row.fees = done.principal, done.interest, done.fees
    row.penalty, row.total = done.penalty, done.total
    classified = session.get(LoanClass, (sdk.current().id, row.loan_id))
    if classified is not None:
        classified.loan_status = "written_off"
    session.flush()
    _changed(
        session,
        row,
        "approved",
        {
            "status": ["requested", "approved"],
            "written_off_on": day.isoformat(),
            "total": str(done.total),
        },
    )
    return row


def reject(session: Session, write_off_id: Any, note: str | None, *, reviewer: Any) -> WriteOff:
    """The checker rejects, with a reason the requester reads."""
    why = _reason(note, "note")
    row = _review(session, write_off_id, reviewer)
    row.status, row.reviewed_by_id, row.reviewed_at = "rejected", reviewer.id, sdk.utcnow()
    row.review_note = why
    session.flush()
    _changed(session, row, "rejected", {"status": ["requested", "rejected"], "note": why})
    return row


def cancel(session: Session, write_off_id: Any, *, user_id: uuid.UUID) -> WriteOff:
    """The requester withdraws a request not yet reviewed."""
    row = get(session, write_off_id, lock=True)
    if row.status != "requested":
        raise sdk.Conflict(N_("This request has been reviewed already."))
    if row.requested_by_id != user_id:
        raise sdk.Forbidden(N_("Only the person who asked may withdraw the request."))
    row.status = "cancelled"
    session.flush()
    _changed(session, row, "cancelled", {"status": ["requested", "cancelled"]})
    return row


def listing(
    session: Session, query: Any, *, page: int = 1, per_page: int = 20
) -> tuple[list[WriteOff], int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(WriteOff.requested_at.desc(), WriteOff.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), int(total)
