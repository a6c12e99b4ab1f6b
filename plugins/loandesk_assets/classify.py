"""Five-tier classification (五级分类): each loan's class from its days past due (the tenant's
limits, ``settings.class_dpd_limits``), restated set-based whenever the repayment plugin
reports positions (``loandesk_loan_positions``: after each close-of-business chunk, a payment,
a reversal, a payout), and a risk manager's override with a reason, which wins until it is
cleared. Every change of the class in force is a history row (the class-migration report),
and an override or its clearing is audited with an event. No Flask."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_
from loandesk_assets import settings
from loandesk_assets.models import CLASS_CODES, ClassChange, LoanClass, WriteOff

ZERO = Decimal("0.00")


def local_today() -> dt.date:
    return sdk.utcnow().astimezone(ZoneInfo(sdk.current().timezone)).date()


def refuse(field: str, text: str, **params: Any) -> sdk.ValidationFailed:
    return sdk.ValidationFailed(
        N_("Some fields need attention."), errors={field: [sdk.message(text, **params)]}
    )


def positions_moved(session: Session, positions: Sequence[sdk.LoanPosition]) -> None:
    """The hook's work: classify the loans whose arrears moved; restate what was recovered on
    written-off ones."""
    written_off = [p.id for p in positions if p.status == "written_off"]
    if written_off:
        restate_recoveries(session, written_off)
    classify(session, [p for p in positions if p.status != "written_off"])


def classify(session: Session, positions: Sequence[sdk.LoanPosition]) -> int:
    """Restate the class of every loan of ``positions``: three statements (the rows there
    are, the new and the changed ones, the history), whatever their number. How many loans
    changed class."""
    if not positions:
        return 0
    limits = settings.limits()
    tenant = sdk.current().id
    ids = [p.id for p in positions]
    existing = {
        row.id: (row.loan_class, row.override_class)
        for row in session.execute(
            select(LoanClass.id, LoanClass.loan_class, LoanClass.override_class).where(
                LoanClass.id.in_(ids)
            )
        )
    }
    now = sdk.utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for p in positions:
        by_dpd = settings.class_for(p.days_past_due, limits)
        values = {
            "tenant_id": tenant,
            "id": p.id,
            "loan_number": p.number,
            "customer_id": p.customer_id,
            "product_code": p.product_code,
            "owner_id": p.owner_id,
            "org_unit_id": p.org_unit_id,
            "loan_status": p.status,
            "business_date": p.business_date,
            "days_past_due": p.days_past_due,
            "principal_outstanding": p.principal_outstanding,
            "dpd_class": by_dpd,
            "updated_at": now,
        }
        before, override = existing.get(p.id, (None, None))
        in_force = override or by_dpd
        values["loan_class"] = in_force
        (updates if p.id in existing else inserts).append(values)
        if before != in_force:
            changes.append(
                {
                    "tenant_id": tenant,
                    "id": sdk.uuid7(),
                    "loan_id": p.id,
                    "product_code": p.product_code,
                    "owner_id": p.owner_id,
                    "org_unit_id": p.org_unit_id,
                    "from_class": before,
                    "to_class": in_force,
                    "changed_on": p.business_date,
                    "cause": "dpd",
                    "days_past_due": p.days_past_due,
                    "principal_outstanding": p.principal_outstanding,
                    "created_at": now,
                }
            )
    if inserts:
        session.execute(insert(LoanClass), inserts)
    if updates:
        session.execute(update(LoanClass), updates)  # by primary key, one executemany
    if changes:
        session.execute(insert(ClassChange), changes)
    return len(changes)


def restate_recoveries(session: Session, loan_ids: Sequence[uuid.UUID]) -> None:
    """What each written-off loan has recovered, as the loan book now tells it (idempotent)."""
    recovered = sdk.loan_book().recoveries(session, list(loan_ids))
    rows = session.execute(
        select(WriteOff.id, WriteOff.loan_id).where(
            WriteOff.loan_id.in_(list(loan_ids)), WriteOff.status == "approved"
        )
    ).all()
    if rows:
        session.execute(
            update(WriteOff),
            [
                {
                    "tenant_id": sdk.current().id,
                    "id": r.id,
                    "recovered": recovered.get(r.loan_id, ZERO),
                }
                for r in rows
            ],
        )
    session.execute(
        update(LoanClass).where(LoanClass.id.in_(list(loan_ids))).values(loan_status="written_off")
    )


def class_of(session: Session, loan_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The class in force of each loan (正常 for a loan never classified: nothing past due)."""
    found = dict(
        session.execute(
            select(LoanClass.id, LoanClass.loan_class).where(LoanClass.id.in_(list(loan_ids)))
        ).all()
    )
    return {loan_id: found.get(loan_id, "normal") for loan_id in loan_ids}


def get_row(session: Session, loan_id: Any, *, lock: bool = False) -> LoanClass | None:
    query = select(LoanClass).where(LoanClass.id == loan_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def loan_or_404(session: Session, loan_id: Any) -> sdk.LoanSummary:
    loan = sdk.loan_book().get(session, loan_id)
    if loan is None:
        raise sdk.NotFound(N_("No such loan."))
    return loan


def _principal_left(session: Session, loan: sdk.LoanSummary) -> Decimal:
    """The principal not yet repaid, for a loan no position has told of (principal is paid
    last in the usual order; the next position restates it exactly)."""
    lines = sdk.loan_book().installments(session, loan.id)
    return sum((min(line.principal_due, line.outstanding) for line in lines), ZERO)


def _row_for(session: Session, loan: sdk.LoanSummary) -> LoanClass:
    row = get_row(session, loan.id, lock=True)
    if row is not None:
        return row
    by_dpd = settings.class_for(loan.days_past_due, settings.limits())
    row = LoanClass(
        id=loan.id,
        loan_number=loan.number,
        customer_id=loan.customer_id,
        product_code=loan.product_terms.code,
        owner_id=loan.owner_id,
        org_unit_id=loan.org_unit_id,
        loan_status=loan.status,
        business_date=loan.cob_date or local_today(),
        days_past_due=loan.days_past_due,
        principal_outstanding=_principal_left(session, loan),
        dpd_class=by_dpd,
        loan_class=by_dpd,
    )
    session.add(row)
    session.flush()
    return row


def _history(
    session: Session, row: LoanClass, before: str | None, cause: str, reason: str, by: uuid.UUID
) -> None:
    session.add(
        ClassChange(
            loan_id=row.id,
            product_code=row.product_code,
            owner_id=row.owner_id,
            org_unit_id=row.org_unit_id,
            from_class=before,
            to_class=row.loan_class,
            changed_on=local_today(),
            cause=cause,
            days_past_due=row.days_past_due,
            principal_outstanding=row.principal_outstanding,
            reason=reason,
            changed_by_id=by,
        )
    )


def _reason(raw: str | None) -> str:
    reason = (raw or "").strip()
    if not 1 <= len(reason) <= 500:
        raise refuse("reason", N_("Say why (up to 500 characters)."))
    return reason


def override(
    session: Session, loan_id: Any, loan_class: str, reason: str | None, *, user_id: uuid.UUID
) -> LoanClass:
    """A risk manager sets the loan's class (``loan_class``) for ``reason``: it wins over the
    class its days past due give until the override is cleared."""
    if loan_class not in CLASS_CODES:
        raise refuse("loan_class", N_("Choose one of the options."))
    why = _reason(reason)
    loan = loan_or_404(session, loan_id)
    if loan.status != "active":
        raise sdk.Conflict(N_("Only an active loan's class can be set."))
    row = _row_for(session, loan)
    before, previous = row.loan_class, row.override_class
    row.override_class, row.override_reason = loan_class, why
    row.overridden_by_id, row.overridden_at = user_id, sdk.utcnow()
    row.loan_class, row.updated_at = loan_class, sdk.utcnow()
    if before != loan_class:
        _history(session, row, before, "override", why, user_id)
    session.flush()
    diff = {"loan_class": [before, loan_class], "override": [previous, loan_class], "reason": why}
    sdk.audit_record(session, "assets.class.override", "loan", row.id, diff)
    sdk.emit(
        session,
        "loan.class_overridden",
        "loan",
        row.id,
        {"from": before, "to": loan_class, "reason": why},
    )
    return row


def clear_override(
    session: Session, loan_id: Any, reason: str | None, *, user_id: uuid.UUID
) -> LoanClass:
    """The override is lifted: the class is again the one the days past due give."""
    why = _reason(reason)
    loan_or_404(session, loan_id)
    row = get_row(session, loan_id, lock=True)
    if row is None or row.override_class is None:
        raise sdk.Conflict(N_("This loan's class is not overridden."))
    before, previous = row.loan_class, row.override_class
    row.override_class = row.override_reason = None
    row.overridden_by_id = row.overridden_at = None
    row.loan_class, row.updated_at = row.dpd_class, sdk.utcnow()
    if before != row.loan_class:
        _history(session, row, before, "override_cleared", why, user_id)
    session.flush()
    diff = {"loan_class": [before, row.loan_class], "override": [previous, None], "reason": why}
    sdk.audit_record(session, "assets.class.clear_override", "loan", row.id, diff)
    sdk.emit(
        session,
        "loan.class_override_cleared",
        "loan",
        row.id,
        {"from": before, "to": row.loan_class, "reason": why},
    )
    return row


def history(session: Session, loan_id: Any, limit: int = 200) -> list[ClassChange]:
    return list(
        session.scalars(
            select(ClassChange)
            .where(ClassChange.loan_id == loan_id)
            .order_by(ClassChange.created_at.desc(), ClassChange.id.desc())
            .limit(limit)
        )
    )


CLASSIFY_ALL_JOB = "assets.classify_all"


def classify_all(
    session: Session, *, commit: Any = None, progress: Any = None, chunk: int = 500
) -> tuple[int, int]:
    """Take in every active loan of the tenant as it stands (``LoanBook.positions``): for a
    firm that enabled the plugin after loans were paid out, or to restate every class after
    the DPD limits were changed. Chunk by chunk, each committed by ``commit`` (a job's); a
    run again changes nothing that is already so. (loans taken, loans whose class changed)."""
    book = sdk.loan_book()
    after: uuid.UUID | None = None
    taken = changed = 0
    while True:
        positions = book.positions(session, after=after, limit=chunk)
        if not positions:
            break
        changed += classify(session, positions)
        taken += len(positions)
        after = positions[-1].id
        if commit is not None:
            commit()
        if progress is not None:
            progress(taken, taken)
    sdk.audit_record(
        session, "assets.classify_all", "loan", None, {"loans": taken, "changed": changed}
    )
    return taken, changed


def classify_all_job(ctx: sdk.JobContext) -> None:
    """The ``assets.classify_all`` job: ``classify_all`` for the job's tenant."""
    classify_all(ctx.session, commit=ctx.session.commit, progress=ctx.report_progress)
    ctx.session.commit()
