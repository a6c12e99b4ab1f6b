"""Data-subject requests (个人信息权利请求; 个人信息保护法 第四十四条 to 第五十条): a person asks to
see and copy (查阅复制), correct or complete (更正补充) or delete (删除) their personal data, and
the firm tracks the request from receipt to its answer, by a due date.

A request moves received → in progress → completed or refused (a refusal gives its reason, which
the person must be told); it may also be answered or refused straight from received. Every step
is kept in its history and in the audit log. The subject's name, ID number and mobile number
are personal data: encrypted, found by exact match, shown masked.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.auth.models import User
from loandesk.db import utcnow, uuid7
from loandesk.errors import Conflict, NotFound, ValidationFailed
from loandesk.i18n import N_
from loandesk.pii.keys import Keyring
from loandesk.pii.retention import RetentionSubject, clear_personal
from loandesk.pii.validation import validate_mobile, validate_resident_id
from loandesk.privacy.models import (
    KINDS,
    DataRequest,
    DataRequestChange,
    PrivacySettings,
)
from loandesk.tenancy.context import current_id

MANAGE = "data_requests.manage"
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "received": ("in_progress", "completed", "refused"),
    "in_progress": ("completed", "refused"),
}
DEFAULT_DUE_DAYS = 15
# GB/T 35273-2020 §8.7: answer within 30 days (or what the law sets); 15 is the usual promise.
MAX_DUE_DAYS = 30
MAX_NAME = 100
MAX_TEXT = 4000
SOME_FIELDS = N_("Some fields need attention.")
_UNCHANGED: Any = object()


def local_today(timezone: str, now: datetime | None = None) -> date:
    """Today in the tenant's timezone: due dates are local dates (DESIGN §5)."""
    return (now or utcnow()).astimezone(ZoneInfo(timezone)).date()


# --- settings --------------------------------------------------------------------------------


def get_settings(session: Session) -> PrivacySettings:
    """The current tenant's privacy settings (the defaults until some are saved). Reading
    writes nothing: a page view must not take a write lock."""
    row = session.scalar(select(PrivacySettings))
    if row is None:
        return PrivacySettings(data_request_due_days=DEFAULT_DUE_DAYS, last_request_number=0)
    return row


def _settings_row(session: Session) -> PrivacySettings:
    """The stored row, created with the defaults if there is none yet."""
    row = session.scalar(select(PrivacySettings))
    if row is None:
        insert = (
            postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        session.execute(
            insert(PrivacySettings)
            .values(
                tenant_id=current_id(),
                id=uuid7(),
                data_request_due_days=DEFAULT_DUE_DAYS,
                last_request_number=0,
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["tenant_id"])
        )
        row = session.scalar(select(PrivacySettings))
        assert row is not None
    return row


def update_settings(session: Session, *, data_request_due_days: int) -> PrivacySettings:
    row = _settings_row(session)
    if not 1 <= data_request_due_days <= MAX_DUE_DAYS:
        raise ValidationFailed(
            SOME_FIELDS,
            errors={"data_request_due_days": [N_("Use 1 to 30 days.")]},
        )
    if row.data_request_due_days != data_request_due_days:
        diff = {"data_request_due_days": [row.data_request_due_days, data_request_due_days]}
        row.data_request_due_days, row.updated_at = data_request_due_days, utcnow()
        session.flush()
        audit.record(session, "privacy.settings", "privacy_settings", row.id, diff)
    return row


def _next_number(session: Session) -> int:
    # One UPDATE ... RETURNING: it locks the tenant's row, so two requests never share a number.
    _settings_row(session)
    number = session.execute(
        update(PrivacySettings)
        .values(last_request_number=PrivacySettings.last_request_number + 1)
        .returning(PrivacySettings.last_request_number)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return int(number)


# --- creating and changing -------------------------------------------------------------------


def possible_handlers(session: Session) -> list[User]:
    """Active staff who may handle data requests."""
    from loandesk.auth.users import active_staff

    return [user for user in active_staff(session) if user.can(MANAGE)]


def _handler_problems(session: Session, handler_id: uuid.UUID | None) -> list[str]:
    if handler_id is None:
        return []
    user = session.scalar(select(User).where(User.id == handler_id))
    if user is None or not user.is_active or not user.can(MANAGE):
        return [N_("Choose an active staff member who may handle data requests.")]
    return []


def _subject_problems(
    name: str | None, id_number: str | None, mobile: str | None, *, partial: bool
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if name is not None or not partial:
        if not (name or "").strip():
            errors["subject_name"] = [N_("Enter the person's name.")]
        elif len(name or "") > MAX_NAME:
            errors["subject_name"] = [N_("Use at most 100 characters.")]
    if not partial and not (id_number or "").strip() and not (mobile or "").strip():
        missing = N_("Give the ID number or the mobile number, so that the person is known.")
        errors["subject_id_number"] = [missing]
        errors["subject_mobile"] = [missing]
    for field, value, check in (
        ("subject_id_number", id_number, validate_resident_id),
        ("subject_mobile", mobile, validate_mobile),
    ):
        if value and value.strip():
            try:
                check(value, field=field)
            except ValidationFailed as failed:
                errors.update(failed.errors)
    return errors


def create_request(
    session: Session,
    keys: Keyring,
    *,
    kind: str,
    subject_name: str,
    subject_id_number: str | None = None,
    subject_mobile: str | None = None,
    received_on: date | None = None,
    due_on: date | None = None,
    handler_id: uuid.UUID | None = None,
    notes: str = "",
    today: date,
    acting_user_id: uuid.UUID | None = None,
) -> DataRequest:
    """Record a request. ``due_on`` defaults to ``received_on`` (default: today) plus the
    tenant's ``data_request_due_days``. Every problem is reported at once (422)."""
    errors = _subject_problems(subject_name, subject_id_number, subject_mobile, partial=False)
    if kind not in KINDS:
        errors["kind"] = [N_("Choose a kind of request from the list.")]
    received_on = received_on or today
    if received_on > today:
        errors["received_on"] = [N_("The date cannot be in the future.")]
    due_on = due_on or received_on + timedelta(days=get_settings(session).data_request_due_days)
    if due_on < received_on:
        errors["due_on"] = [N_("The due date cannot be before the date received.")]
    if problems := _handler_problems(session, handler_id):
        errors["handler_id"] = problems
    if len(notes or "") > MAX_TEXT:
        errors["notes"] = [N_("Use at most 4000 characters.")]
    if errors:
        raise ValidationFailed(SOME_FIELDS, errors=errors)
    request = DataRequest(
        number=_next_number(session),
        kind=kind,
        status="received",
        received_on=received_on,
        due_on=due_on,
        handler_id=handler_id,
        notes=(notes or "").strip(),
        outcome="",
        created_by_id=acting_user_id,
    )
    request.set_personal("subject_name", subject_name, keys=keys)
    request.set_personal("subject_id_number", subject_id_number, keys=keys)
    request.set_personal("subject_mobile", subject_mobile, keys=keys)
    session.add(request)
    session.flush()
    _add_history(session, request, None, "received", "")
    audit.record(
        session,
        "data_request.create",
        "data_request",
        request.id,
        {
            "number": request.number,
            "kind": kind,
            "received_on": received_on,
            "due_on": due_on,
            "handler_id": handler_id,
        },
    )
    return request


def update_request(
    session: Session,
    keys: Keyring,
    request: DataRequest,
    *,
    subject_name: str | None = _UNCHANGED,
    subject_id_number: str | None = _UNCHANGED,
    subject_mobile: str | None = _UNCHANGED,
    due_on: date = _UNCHANGED,
    handler_id: uuid.UUID | None = _UNCHANGED,
    notes: str = _UNCHANGED,
) -> DataRequest:
    """Change what was recorded; only the arguments given. Personal values are audited as
    changed, never with their values."""
    if request.anonymised_at is not None:
        raise Conflict(N_("This request was anonymised; it can no longer change."))
    given = {
        k: v
        for k, v in {
            "subject_name": subject_name,
            "subject_id_number": subject_id_number,
            "subject_mobile": subject_mobile,
        }.items()
        if v is not _UNCHANGED
    }
    errors = _subject_problems(
        given.get("subject_name"),
        given.get("subject_id_number"),
        given.get("subject_mobile"),
        partial=True,
    )
    identifies = [
        given[f] if f in given else getattr(request, f"{f}_enc")
        for f in ("subject_id_number", "subject_mobile")
    ]
    if given and not any((value or "").strip() for value in identifies):
        missing = N_("Give the ID number or the mobile number, so that the person is known.")
        errors.setdefault("subject_id_number", [missing])
        errors.setdefault("subject_mobile", [missing])
    if due_on is not _UNCHANGED and (due_on is None or due_on < request.received_on):
        errors["due_on"] = [N_("The due date cannot be before the date received.")]
    if handler_id is not _UNCHANGED and (problems := _handler_problems(session, handler_id)):
        errors["handler_id"] = problems
    if notes is not _UNCHANGED and len(notes or "") > MAX_TEXT:
        errors["notes"] = [N_("Use at most 4000 characters.")]
    if errors:
        raise ValidationFailed(SOME_FIELDS, errors=errors)
    diff: dict[str, Any] = {}
    for field, value in given.items():
        before = request.get_personal(field, keys=keys)
        request.set_personal(field, value, keys=keys)
        after = request.get_personal(field, keys=keys)
        if after != before:  # that it changed, and whether it was empty: never the values
            diff[field] = [before and audit.REDACTED, after and audit.REDACTED]
    plain_before = {"due_on": request.due_on, "handler_id": request.handler_id}
    if due_on is not _UNCHANGED:
        request.due_on = due_on
    if handler_id is not _UNCHANGED:
        request.handler_id = handler_id
    diff.update(
        audit.changes(plain_before, {"due_on": request.due_on, "handler_id": request.handler_id})
    )
    if notes is not _UNCHANGED and (notes or "").strip() != request.notes:
        request.notes = (notes or "").strip()
        diff["notes"] = [audit.REDACTED, audit.REDACTED]
    session.flush()
    session.expire(request, ["handler"])  # a view-only relationship: load it again
    if diff:
        audit.record(session, "data_request.update", "data_request", request.id, diff)
    return request


def transition(
    session: Session,
    request: DataRequest,
    to: str,
    *,
    note: str = "",
    acting_user_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> DataRequest:
    """Move the request to status ``to``: 409 when its status does not allow it, 422 when a
    refusal has no reason. Starting it makes the acting user its handler if it had none."""
    note = (note or "").strip()
    if to not in TRANSITIONS.get(request.status, ()):
        raise Conflict(
            N_("This request cannot move to that status now."),
            errors={"status": [N_("Not possible from the current status.")]},
        )
    if to == "refused" and not note:
        raise ValidationFailed(
            SOME_FIELDS,
            errors={"note": [N_("Give the reason for refusing: the person must be told why.")]},
        )
    if len(note) > MAX_TEXT:
        raise ValidationFailed(SOME_FIELDS, errors={"note": [N_("Use at most 4000 characters.")]})
    before = request.status
    request.status = to
    diff: dict[str, Any] = {"status": [before, to]}
    if to == "in_progress" and request.handler_id is None and acting_user_id is not None:
        request.handler_id = acting_user_id
        diff["handler_id"] = [None, acting_user_id]
    if to in ("completed", "refused"):
        request.closed_at = now or utcnow()
        request.outcome = note
    session.flush()
    session.expire(request, ["handler"])
    _add_history(session, request, before, to, note)
    audit.record(session, "data_request.status", "data_request", request.id, diff)
    return request


def _add_history(
    session: Session, request: DataRequest, before: str | None, after: str, note: str
) -> None:
    actor = audit.current_actor()
    session.add(
        DataRequestChange(
            request_id=request.id,
            at=utcnow(),
            from_status=before,
            to_status=after,
            note=note,
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_label=actor.label,
        )
    )
    session.flush()


# --- reading ---------------------------------------------------------------------------------


def get_request(session: Session, request_id: uuid.UUID) -> DataRequest:
    request = session.scalar(select(DataRequest).where(DataRequest.id == request_id))
    if request is None:
        raise NotFound(N_("No such data request."))
    return request


def history(session: Session, request: DataRequest) -> list[DataRequestChange]:
    return list(
        session.scalars(
            select(DataRequestChange)
            .where(DataRequestChange.request_id == request.id)
            .order_by(DataRequestChange.at, DataRequestChange.id)
        )
    )


# --- retention: the requests' own personal data -----------------------------------------------


def _due_for_anonymising(cutoff: datetime) -> Select[Any]:
    return (
        select(DataRequest.id)
        .where(DataRequest.closed_at < cutoff, DataRequest.anonymised_at.is_(None))
        .order_by(DataRequest.closed_at, DataRequest.id)
    )


def _anonymise(session: Session, record_id: uuid.UUID, now: datetime) -> list[str]:
    request = get_request(session, record_id)
    cleared = clear_personal(request)
    for field in ("notes", "outcome"):
        if getattr(request, field):
            setattr(request, field, "")
            cleared.append(field)
    notes = list(
        session.scalars(
            select(DataRequestChange).where(
                DataRequestChange.request_id == record_id, DataRequestChange.note != ""
            )
        )
    )
    for change in notes:
        change.note = ""
    if notes:
        cleared.append("history_notes")
    request.anonymised_at = now
    session.flush()
    return cleared


RETENTION_SUBJECT = RetentionSubject(
    key="core.data_request",
    label_zh="个人信息权利请求",
    label_en="Data-subject requests",
    clock_zh="请求办结后",
    clock_en="after the request was closed",
    due=_due_for_anonymising,
    anonymise=_anonymise,
    # the record of how a request was answered is the firm's evidence for as long as the
    # person could sue: the general limitation period of three years (民法典 第一百八十八条)
    minimum_days=3 * 365,
    basis="民法典 第一百八十八条",
)
