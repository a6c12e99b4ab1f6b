"""Setting collections up (collections.manage): agencies (委外机构) and their users, queues
(催收队列) with members and balancing, the ordered assignment rules (分案规则), and the
script (催收话术) per bucket. Every change is audited."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_, Conflict, NotFound, ValidationFailed
from loandesk_collections.assign import split
from loandesk_collections.models import (
    BALANCING,
    Agency,
    AgencyUser,
    Queue,
    QueueMember,
    Rule,
    Script,
)


def _errors(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)


def _text(values: dict[str, Any], key: str, most: int, errors: dict[str, list[str]]) -> str:
    value = str(values.get(key) or "").strip()
    if not value:
        errors.setdefault(key, []).append(sdk.message(N_("Enter a value.")))
    elif len(value) > most:
        errors.setdefault(key, []).append(sdk.message(N_("Use at most %(n)s characters."), n=most))
    return value


def _user(session: Session, raw: Any, field: str, errors: dict[str, list[str]]) -> uuid.UUID:
    try:
        user_id = uuid.UUID(str(raw))
        sdk.unit_of(session, user_id, field)  # an active staff member of the tenant
        return user_id
    except (ValueError, ValidationFailed):
        errors.setdefault(field, []).append(sdk.message(N_("Choose an active staff member.")))
        return uuid.UUID(int=0)


# --- agencies --------------------------------------------------------------------------------


def agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.code)))


def create_agency(session: Session, values: dict[str, Any]) -> Agency:
    errors: dict[str, list[str]] = {}
    code, name = _text(values, "code", 20, errors), _text(values, "name", 100, errors)
    if code and session.scalar(select(Agency.id).where(Agency.code == code)):
        errors.setdefault("code", []).append(sdk.message(N_("This code is in use.")))
    _errors(errors)
    agency = Agency(code=code, name=name, active=True, created_at=sdk.utcnow())
    session.add(agency)
    session.flush()
    sdk.audit_record(session, "collection_agency.create", "collection_agency", agency.id,
                     {"code": code, "name": name})  # fmt: skip
    return agency


def add_agency_user(session: Session, agency: Agency, user_id: Any) -> AgencyUser:
    """The staff member now works for ``agency``: they see only its cases."""
    errors: dict[str, list[str]] = {}
    wanted = _user(session, user_id, "user_id", errors)
    _errors(errors)
    if session.scalar(select(AgencyUser.id).where(AgencyUser.user_id == wanted)):
        raise Conflict(N_("This staff member already works for an agency."))
    row = AgencyUser(agency_id=agency.id, user_id=wanted)
    session.add(row)
    session.flush()
    sdk.audit_record(session, "collection_agency.add_user", "collection_agency", agency.id,
                     {"user_id": str(wanted)})  # fmt: skip
    return row


def agency_users(session: Session, agency: Agency) -> list[uuid.UUID]:
    return list(
        session.scalars(select(AgencyUser.user_id).where(AgencyUser.agency_id == agency.id))
    )


def get_agency(session: Session, agency_id: Any) -> Agency:
    found = session.scalar(select(Agency).where(Agency.id == agency_id))
    if found is None:
        raise NotFound(N_("No such record."))
    return found


# --- queues ----------------------------------------------------------------------------------


def queues(session: Session) -> list[Queue]:
    return list(session.scalars(select(Queue).order_by(Queue.code)))


def get_queue(session: Session, queue_id: Any) -> Queue:
    try:
        wanted = queue_id if isinstance(queue_id, uuid.UUID) else uuid.UUID(str(queue_id))
    except ValueError:
        raise NotFound(N_("No such record.")) from None
    found = session.scalar(select(Queue).where(Queue.id == wanted))
    if found is None:
        raise NotFound(N_("No such record."))
    return found


def create_queue(session: Session, values: dict[str, Any]) -> Queue:
    """A queue: ``code``, ``name``, ``balancing`` (round_robin / least_loaded), optionally
    the ``agency_id`` it hands its cases to and its ``members`` (staff ids)."""
    errors: dict[str, list[str]] = {}
    code, name = _text(values, "code", 20, errors), _text(values, "name", 100, errors)
    if code and session.scalar(select(Queue.id).where(Queue.code == code)):
        errors.setdefault("code", []).append(sdk.message(N_("This code is in use.")))
    balancing = str(values.get("balancing") or "round_robin")
    if balancing not in BALANCING:
        errors.setdefault("balancing", []).append(
            sdk.message(N_("Choose one of the listed values."))
        )
    agency_id = None
    if values.get("agency_id"):
        try:
            agency_id = get_agency(session, uuid.UUID(str(values["agency_id"]))).id
        except (ValueError, NotFound):
            errors.setdefault("agency_id", []).append(sdk.message(N_("No such agency.")))
    members = [_user(session, m, "members", errors) for m in values.get("members") or ()]
    _errors(errors)
    queue = Queue(
        code=code,
        name=name,
        balancing=balancing,
        agency_id=agency_id,
        handed_out=0,
        active=True,
        created_at=sdk.utcnow(),
    )
    session.add(queue)
    session.flush()
    for user_id in dict.fromkeys(members):
        session.add(QueueMember(queue_id=queue.id, user_id=user_id, created_at=sdk.utcnow()))
    session.flush()
    sdk.audit_record(
        session,
        "collection_queue.create",
        "collection_queue",
        queue.id,
        {"code": code, "name": name, "balancing": balancing,
         "agency_id": str(agency_id) if agency_id else None,
         "members": [str(m) for m in dict.fromkeys(members)]},
    )  # fmt: skip
    return queue


def members(session: Session, queue: Queue) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(QueueMember.user_id)
            .where(QueueMember.queue_id == queue.id)
            .order_by(QueueMember.created_at, QueueMember.id)
        )
    )


def set_members(session: Session, queue: Queue, user_ids: list[Any]) -> None:
    """The queue's collectors are now ``user_ids`` (their open cases stay with them)."""
    errors: dict[str, list[str]] = {}
    wanted = list(dict.fromkeys(_user(session, u, "members", errors) for u in user_ids))
    _errors(errors)
    before = members(session, queue)
    session.execute(delete(QueueMember).where(QueueMember.queue_id == queue.id))
    for user_id in wanted:
        session.add(QueueMember(queue_id=queue.id, user_id=user_id, created_at=sdk.utcnow()))
    session.flush()
    sdk.audit_record(session, "collection_queue.members", "collection_queue", queue.id,
                     {"members": [[str(u) for u in before], [str(u) for u in wanted]]})  # fmt: skip


# --- rules -----------------------------------------------------------------------------------


def rules(session: Session) -> list[Rule]:
    return list(session.scalars(select(Rule).order_by(Rule.position, Rule.created_at)))


def _money(raw: Any, key: str, errors: dict[str, list[str]]) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        value = Decimal(str(raw).strip())
        if not value.is_finite() or value < 0 or value.as_tuple().exponent < -2:  # type: ignore[operator]
            raise InvalidOperation
        return value
    except (InvalidOperation, ValueError):
        errors.setdefault(key, []).append(sdk.message(N_("Enter an amount such as 1000.00.")))
        return None


def create_rule(session: Session, values: dict[str, Any]) -> Rule:
    """An assignment rule, last in the order unless ``position`` says otherwise:
    ``queue_id`` and the conditions ``buckets`` / ``product_codes`` (comma-separated),
    ``min_overdue`` / ``max_overdue``, ``org_unit_id`` (the loan's unit)."""
    errors: dict[str, list[str]] = {}
    name = _text(values, "name", 100, errors)
    queue_id = None
    try:
        queue_id = get_queue(session, values.get("queue_id")).id
    except NotFound:
        errors.setdefault("queue_id", []).append(sdk.message(N_("No such queue.")))
    buckets = ", ".join(sorted(split(str(values.get("buckets") or ""))))
    products = ", ".join(sorted(split(str(values.get("product_codes") or ""))))
    if len(buckets) > 200 or len(products) > 200:
        errors.setdefault("buckets", []).append(sdk.message(N_("Use at most 200 characters.")))
    low = _money(values.get("min_overdue"), "min_overdue", errors)
    high = _money(values.get("max_overdue"), "max_overdue", errors)
    if low is not None and high is not None and low > high:
        errors.setdefault("max_overdue", []).append(
            sdk.message(N_("The upper bound must not be below the lower one."))
        )
    unit = None
    if values.get("org_unit_id"):
        try:
            unit = uuid.UUID(str(values["org_unit_id"]))
            if not sdk.unit_names(session, [unit]):
                raise ValueError
        except ValueError:
            errors.setdefault("org_unit_id", []).append(sdk.message(N_("No such unit.")))
    position = values.get("position")
    if position in (None, ""):
        position = (session.scalar(select(func.max(Rule.position))) or 0) + 10
    else:
        try:
            position = int(position)
        except (TypeError, ValueError):
            errors.setdefault("position", []).append(sdk.message(N_("Enter a whole number.")))
    _errors(errors)
    rule = Rule(
        position=position,
        name=name,
        queue_id=queue_id,
        buckets=buckets,
        product_codes=products,
        min_overdue=low,
        max_overdue=high,
        org_unit_id=unit,
        active=True,
        created_at=sdk.utcnow(),
    )
    session.add(rule)
    session.flush()
    sdk.audit_record(
        session, "collection_rule.create", "collection_rule", rule.id,
        {"name": name, "position": position, "queue_id": str(queue_id), "buckets": buckets,
         "product_codes": products, "min_overdue": str(low) if low is not None else None,
         "max_overdue": str(high) if high is not None else None,
         "org_unit_id": str(unit) if unit else None},
    )  # fmt: skip
    return rule


def delete_rule(session: Session, rule_id: Any) -> None:
    rule = session.scalar(select(Rule).where(Rule.id == rule_id))
    if rule is None:
        raise NotFound(N_("No such record."))
    session.delete(rule)
    session.flush()
    sdk.audit_record(session, "collection_rule.delete", "collection_rule", rule_id,
                     {"name": rule.name})  # fmt: skip


# --- scripts ---------------------------------------------------------------------------------


def scripts(session: Session) -> dict[str, str]:
    return {s.bucket: s.body for s in session.scalars(select(Script).order_by(Script.bucket))}


def script_for(session: Session, bucket: str) -> str | None:
    return session.scalar(select(Script.body).where(Script.bucket == bucket))


def save_script(session: Session, bucket: str, body: str) -> Script | None:
    """The script of ``bucket`` is now ``body`` (empty: removed)."""
    bucket, body = str(bucket or "").strip(), str(body or "").strip()
    errors: dict[str, list[str]] = {}
    if not 1 <= len(bucket) <= 10:
        errors["bucket"] = [sdk.message(N_("Use 1 to 10 characters."))]
    if len(body) > 10000:
        errors["body"] = [sdk.message(N_("Use at most 10000 characters."))]
    _errors(errors)
    row = session.scalar(select(Script).where(Script.bucket == bucket))
    if not body:
        if row is not None:
            session.delete(row)
            sdk.audit_record(session, "collection_script.delete", "collection_script", row.id,
                             {"bucket": bucket})  # fmt: skip
        return None
    if row is None:
        row = Script(bucket=bucket, body=body, updated_at=sdk.utcnow())
        session.add(row)
    else:
        row.body = body
    session.flush()
    sdk.audit_record(session, "collection_script.save", "collection_script", row.id,
                     {"bucket": bucket})  # fmt: skip
    return row
