"""Working cases (催收作业): who may see which case (agency users only their agency's), the
list and one case with its history, logging actions, promises to pay, and putting a case
into a queue by hand or through an automation (early collection, 提前催收). No Flask here."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_, NotFound, ValidationFailed
from loandesk_collections import models
from loandesk_collections.batch import Batch, C, case_rows
from loandesk_collections.models import (
    ACTION_KINDS,
    OUTCOMES,
    Action,
    AgencyUser,
    Assignment,
    Case,
    Promise,
    Queue,
)

MAX_NOTE = 2000


def refuse(field: str, text: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(
        N_("Some fields need attention."), errors={field: [sdk.message(text, **params)]}
    )


def agency_of(session: Session, user_id: uuid.UUID) -> uuid.UUID | None:
    """The agency (委外机构) the staff member works for, or None for in-house staff."""
    return session.scalar(select(AgencyUser.agency_id).where(AgencyUser.user_id == user_id))


def visible(session: Session, user: Any, access: sdk.RecordAccess) -> Any:
    """A select of the cases ``user`` may see: their data scope over cases and, for an
    agency's user, only the cases assigned to that agency."""
    query = access.where(select(Case))
    agency = agency_of(session, user.id)
    if agency is not None:
        query = query.where(Case.agency_id == agency)
    return query


def get_case(session: Session, case_id: Any, user: Any, access: sdk.RecordAccess) -> Case:
    """The case, ``NotFound`` when the user may not see it (as if it did not exist)."""
    try:
        wanted = case_id if isinstance(case_id, uuid.UUID) else uuid.UUID(str(case_id))
    except ValueError:
        raise NotFound(N_("No such record.")) from None
    found = session.scalar(visible(session, user, access).where(Case.id == wanted))
    if found is None:
        raise NotFound(N_("No such record."))
    return found


@dataclass(frozen=True)
class Filters:
    status: str | None = "open"
    queue_id: uuid.UUID | None = None
    bucket: str | None = None
    mine: bool = False


def list_cases(
    session: Session,
    user: Any,
    access: sdk.RecordAccess,
    filters: Filters,
    *,
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[Case], int]:
    """The cases the user may see, most overdue first; and how many in all."""
    query = visible(session, user, access)
    if filters.status:
        query = query.where(Case.status == filters.status)
    if filters.queue_id:
        query = query.where(Case.queue_id == filters.queue_id)
    if filters.bucket:
        query = query.where(Case.bucket == filters.bucket)
    if filters.mine:
        query = query.where(Case.owner_id == user.id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(Case.days_past_due.desc(), Case.loan_number)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(items), total


def actions_of(session: Session, case: Case) -> list[Action]:
    return list(
        session.scalars(
            select(Action).where(Action.case_id == case.id).order_by(Action.created_at, Action.id)
        )
    )


def promises_of(session: Session, case: Case) -> list[Promise]:
    return list(
        session.scalars(
            select(Promise)
            .where(Promise.case_id == case.id)
            .order_by(Promise.created_at, Promise.id)
        )
    )


def assignments_of(session: Session, case: Case) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.case_id == case.id)
            .order_by(Assignment.started_at, Assignment.id)
        )
    )


def _require_open(case: Case) -> None:
    if case.status != "open":
        raise sdk.Conflict(N_("The case is closed."))


def _count(session: Session, case: Case, column: str) -> None:
    if case.assignment_id is not None:
        table = models.table(Assignment)
        session.execute(
            update(table)
            .where(table.c.tenant_id == case.tenant_id, table.c.id == case.assignment_id)
            .values({column: table.c[column] + 1})
        )


def log_action(
    session: Session,
    case: Case,
    *,
    user_id: uuid.UUID,
    kind: str,
    outcome: str,
    contact: str = "",
    note: str = "",
) -> Action:
    """Record what the collector did (a call and its outcome code, an SMS, a visit, a
    letter), audited; counted on the case's running assignment."""
    _require_open(case)
    errors: dict[str, list[str]] = {}
    if kind not in ACTION_KINDS:
        errors["kind"] = [sdk.message(N_("Choose one of the listed values."))]
    if outcome not in OUTCOMES:
        errors["outcome"] = [sdk.message(N_("Choose one of the listed values."))]
    contact, note = (contact or "").strip(), (note or "").strip()
    if len(contact) > 100:
        errors["contact"] = [sdk.message(N_("Use at most 100 characters."))]
    if len(note) > MAX_NOTE:
        errors["note"] = [sdk.message(N_("Use at most 2000 characters."))]
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    action = Action(
        case_id=case.id,
        assignment_id=case.assignment_id,
        kind=kind,
        outcome=outcome,
        contact=contact,
        note=note,
        user_id=user_id,
        created_at=sdk.utcnow(),
    )
    session.add(action)
    session.flush()
    _count(session, case, "actions")
    sdk.audit_record(
        session,
        "collection_case.action",
        "collection_case",
        case.id,
        {"action_id": str(action.id), "kind": kind, "outcome": outcome},
    )
    return action


def _amount(raw: Any) -> Decimal:
    try:
        amount = Decimal(str(raw).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise refuse("amount", N_("Enter an amount such as 1000.00.")) from None
    if not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise refuse("amount", N_("Enter an amount above zero with at most two decimals."))
    return amount


def _date(raw: Any) -> dt.date:
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise refuse("promised_on", N_("Enter a date such as 2026-01-31.")) from None


def make_promise(
    session: Session,
    case: Case,
    *,
    user_id: uuid.UUID,
    amount: Any,
    promised_on: Any,
    note: str = "",
) -> Promise:
    """A promise to pay (承诺还款) ``amount`` by ``promised_on`` (not before the case's
    business date), audited, event ``collection.promise_made``."""
    _require_open(case)
    value, day = _amount(amount), _date(promised_on)
    if case.business_date is not None and day < case.business_date:
        raise refuse("promised_on", N_("The date may not be before %(date)s."),
                     date=case.business_date.isoformat())  # fmt: skip
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise refuse("note", N_("Use at most 2000 characters."))
    promise = Promise(
        case_id=case.id,
        assignment_id=case.assignment_id,
        amount=value,
        promised_on=day,
        paid=Decimal("0.00"),
        status="open",
        note=note,
        made_by_id=user_id,
        created_at=sdk.utcnow(),
    )
    session.add(promise)
    session.flush()
    _count(session, case, "promises_made")
    payload = {"promise_id": str(promise.id), "amount": str(value), "promised_on": day.isoformat()}
    sdk.audit_record(session, "collection_promise.make", "collection_case", case.id, payload)
    sdk.emit(session, "collection.promise_made", "collection_case", case.id, payload)
    return promise


def queue_by_code(session: Session, code: str) -> Queue:
    found = session.scalar(select(Queue).where(Queue.code == str(code).strip()))
    if found is None:
        raise refuse("queue", N_("No such queue."))
    return found


def reassign(
    session: Session, case: Case, queue: Queue, *, collector_id: uuid.UUID | None = None
) -> None:
    """Put an open case into ``queue`` by hand (a manager), to ``collector_id`` when given
    (one of the queue's members), else whom the queue's balancing picks."""
    _require_open(case)
    batch = Batch(session)
    if collector_id is not None and collector_id not in batch.balancer.members.get(queue.id, []):
        raise refuse("collector_id", N_("Choose a member of the queue."))
    row = case_rows(session, C.c.id == case.id)[case.loan_id]
    batch.assign(row, queue.id, "manual", collector=collector_id)
    batch.write()
    session.expire(case)


@dataclass(frozen=True)
class _Position:
    """A loan as ``Batch.open`` reads it, from the loan book (an early assignment)."""

    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    product_code: str
    org_unit_id: uuid.UUID
    business_date: dt.date | None
    days_past_due: int
    bucket: str
    overdue_principal: Decimal
    overdue_amount: Decimal
    principal_outstanding: Decimal


def assign_early(session: Session, loan_id: Any, queue_code: str) -> Case:
    """Early collection (提前催收, the ``collections.assign`` automation action): the loan's
    case is opened (or reopened) even before it is overdue, or moved, into queue
    ``queue_code``. ``NotFound`` for no such loan; an inactive loan is refused."""
    queue = queue_by_code(session, queue_code)
    loan = sdk.loan_book().get(session, loan_id)
    if loan is None:
        raise NotFound(N_("No such loan."))
    if loan.status != "active":
        raise sdk.Conflict(N_("Only an active loan can be assigned to collection."))
    position = _Position(
        id=loan.id,
        number=loan.number,
        customer_id=loan.customer_id,
        product_code=loan.product_terms.code or "",
        org_unit_id=loan.org_unit_id,
        business_date=loan.cob_date,
        days_past_due=loan.days_past_due,
        bucket=loan.bucket,
        overdue_principal=Decimal("0.00"),
        overdue_amount=loan.overdue_amount,
        principal_outstanding=Decimal("0.00"),
    )
    batch = Batch(session)
    existing = case_rows(session, C.c.loan_id == loan.id).get(loan.id)
    if existing is None:
        batch.open(position, early=True, queue_id=queue.id)
    elif existing["status"] == "closed":
        batch.reopen(existing, position, early=True)
        batch.assign(existing, queue.id, "early")
    elif existing["queue_id"] != queue.id:
        batch.assign(existing, queue.id, "early")
    batch.write()
    found = session.scalar(select(Case).where(Case.loan_id == loan.id))
    assert found is not None
    session.refresh(found)
    return found
