"""Applications: creating, changing, submitting and finding them, always under the acting
user's ``RecordAccess``, every value checked by the tenant's application form (built-in and
custom fields: the one validation path). No Flask here: the API, web pages, imports and jobs
call the same functions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    Conflict,
    Form,
    Keyring,
    ListState,
    RecordAccess,
    RecordList,
    ValidationFailed,
    ValueContext,
    audit_changes,
    audit_record,
    current,
    current_values,
    emit,
    store_custom,
    submit_for_approval,
    unit_of,
    utcnow,
    validate_record,
)
from loandesk_intake.models import Application

EDITABLE = ("customer_id", "amount", "term_months")
EDITABLE_STATUSES = ("draft", "returned")
LIST_COLUMNS = (
    "number",
    "customer_id",
    "amount",
    "term_months",
    "status",
    "owner_id",
    "created_at",
)
LIST_SORT = "-created_at"


@dataclass(frozen=True)
class Page:
    items: list[Application]
    total: int
    page: int
    per_page: int
    listed: Any = None  # the resolved list state (columns, filters, sort)


def application_list(access: RecordAccess, *, columns: tuple[str, ...] = ()) -> RecordList:
    """The application list as ``access``'s user may shape it (columns, filters on any
    filterable or searchable field, sort, saved views)."""
    return RecordList(access, columns, LIST_SORT, ValueContext(timezone=current().timezone))


def list_applications(
    session: Session,
    access: RecordAccess,
    keys: Keyring | None = None,
    *,
    status: str | None = None,
    customer_id: uuid.UUID | None = None,
    state: ListState | None = None,
    listing: RecordList | None = None,
    strict: bool = True,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """The applications the user's scope reaches, filtered and ordered as ``state`` says
    (newest first by default)."""
    access.require_read()
    listing = listing or application_list(access)
    resolved = listing.resolve(state or ListState(), strict=strict)
    query = access.where(select(Application))
    if status:
        query = query.where(Application.status == status)
    if customer_id:
        query = query.where(Application.customer_id == customer_id)
    found = listing.page(session, query, resolved, keys=keys, page=page, per_page=per_page)
    return Page(list(found.items), found.total, found.page, found.per_page, resolved)


def get_application(
    session: Session, access: RecordAccess, application_id: uuid.UUID
) -> Application:
    found = session.scalar(select(Application).where(Application.id == application_id))
    result: Application = access.check_record(found)
    return result


def values_of(application: Application, form: Form) -> dict[str, Any]:
    """What conditions and formulas see of ``application``."""
    return current_values(application, form, lambda spec: getattr(application, spec.source))


def create_application(
    session: Session,
    access: RecordAccess,
    keys: Keyring,
    form: Form,
    values: Mapping[str, Any],
    *,
    owner_id: uuid.UUID,
    context: ValueContext,
) -> Application:
    """A new draft application owned by ``owner_id``."""
    access.require_read()
    given = {k: v for k, v in values.items() if v not in (None, "", [])}
    clean = validate_record(form, given, access=access, context=context, writable=EDITABLE)
    application = Application(
        status="draft",
        owner_id=owner_id,
        org_unit_id=unit_of(session, owner_id),
        number=_next_number(session),
        custom={},
        **clean.builtin,
    )
    store_custom(application, form, clean.custom, keys)
    session.add(application)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # two applications took the same number at once: take the next
        application.number = _next_number(session)
        session.flush()
    audit_record(
        session,
        "application.create",
        "application",
        application.id,
        _audited(application, form),
    )
    emit(session, "application.created", "application", application.id, {})
    return application


def update_application(
    session: Session,
    access: RecordAccess,
    keys: Keyring,
    form: Form,
    application: Application,
    values: Mapping[str, Any],
    *,
    context: ValueContext,
) -> Application:
    """Change a draft application's fields, or one sent back to its submitter (refused while
    in approval and once decided)."""
    access.check_record(application)
    if application.status not in EDITABLE_STATUSES:
        raise Conflict(N_("Only a draft application can be changed."))
    before = _audited(application, form)
    clean = validate_record(
        form,
        values,
        existing=values_of(application, form),
        access=access,
        context=context,
        writable=EDITABLE,
    )
    for key, value in clean.builtin.items():
        setattr(application, key, value)
    store_custom(application, form, clean.custom, keys)
    session.flush()
    diff = audit_changes(before, _audited(application, form))
    if diff:
        audit_record(session, "application.update", "application", application.id, diff)
        emit(
            session, "application.updated", "application", application.id, {"fields": sorted(diff)}
        )
    return application


def submit(
    session: Session, access: RecordAccess, form: Form, application: Application
) -> Application:
    """Submit a draft (or an application sent back) into the tenant's approval flow: every
    required field the form shows must be filled (a field made required after the draft was
    saved included)."""
    access.check_record(application)
    if application.status not in EDITABLE_STATUSES:
        raise Conflict(N_("This application was already submitted."))
    values = values_of(application, form)
    shown = form.shown(values)
    missing = {
        spec.key: [N_("This field is required.")]
        for spec in form.fields
        if spec.required
        and not spec.read_only
        and spec.key in shown
        and spec.key in values
        and values.get(spec.key) in (None, "", [])
    }
    missing.update(
        {
            spec.key: [N_("This field is required.")]
            for spec in form.custom_fields
            if spec.required
            and spec.key in shown
            and spec.encrypted
            and spec.key not in (application.custom or {})
        }
    )
    if missing:
        raise ValidationFailed(N_("Fill in the required fields before submitting."), errors=missing)
    application.status = "submitted"
    application.submitted_at = utcnow()
    session.flush()
    audit_record(session, "application.submit", "application", application.id, {})
    emit(session, "application.submitted", "application", application.id, {})
    submit_for_approval(
        session,
        form.record_type,
        application,
        form,
        values,
        submitter_id=access.user_id,
        title=application.number,
    )
    return application


# The application's status for each state of its approval
FLOW_STATUS = {
    "running": "submitted",
    "returned": "returned",
    "approved": "approved",
    "rejected": "rejected",
    "withdrawn": "withdrawn",
}


def flow_changed(session: Session, application: Application, state: str) -> None:
    """The approval of ``application`` changed state (called by the flow engine in its
    transaction): follow it with the application's status. A draft an automation rule put into
    approval is submitted as if by hand (time and event)."""
    status = FLOW_STATUS[state]
    if application.status == status:
        return
    before = application.status
    application.status = status
    if before == "draft" and status == "submitted":
        application.submitted_at = utcnow()
    session.flush()
    audit_record(
        session,
        "application.status",
        "application",
        application.id,
        {"status": [before, status]},
    )
    if status != "submitted" or before == "draft":
        emit(session, f"application.{status}", "application", application.id, {})


def _next_number(session: Session) -> str:
    """SQ + the date + a 4-digit sequence of the day (SQ202611280001)."""
    prefix = f"SQ{utcnow():%Y%m%d}"
    last = session.scalar(
        select(func.max(Application.number)).where(Application.number.like(f"{prefix}%"))
    )
    sequence = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


def _audited(application: Application, form: Form) -> dict[str, Any]:
    """Built-in values and the custom ones (personal kinds as a marker only)."""
    audited: dict[str, Any] = {
        "customer_id": application.customer_id,
        "amount": application.amount,
        "term_months": application.term_months,
    }
    for spec in form.custom_fields:
        raw = (application.custom or {}).get(spec.key)
        audited[spec.key] = ("***" if raw is not None else None) if spec.encrypted else raw
    return audited
