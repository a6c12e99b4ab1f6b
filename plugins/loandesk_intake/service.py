"""Applications: creating, changing, submitting and finding them, always under the acting
user's ``RecordAccess``, every value checked by the tenant's application form (built-in and
custom fields: the one validation path). No Flask here: the API, web pages, imports and jobs
call the same functions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
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
    NotFound,
    RecordAccess,
    RecordList,
    ValidationFailed,
    ValueContext,
    audit_changes,
    audit_record,
    current,
    current_values,
    emit,
    message,
    store_custom,
    submit_for_approval,
    unit_of,
    utcnow,
    validate_record,
)
from loandesk_intake import documents, exposure, products
from loandesk_intake.models import Application, Product

EDITABLE = ("customer_id", "amount", "term_months")
DOCUMENT_ERROR_PREFIX = "documents."
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
    idempotency_key: str | None = None,
) -> Application:
    """A new draft application owned by ``owner_id``, against the product ``product_id``
    names (its limits checked, and the borrower's exposure against its cap). With an
    ``idempotency_key`` (an API client's ``Idempotency-Key``), a key used before gives back
    that application unchanged (``replayed``) instead of a second one."""
    access.require_read()
    if idempotency_key:
        earlier = _by_idempotency_key(session, idempotency_key, owner_id)
        if earlier is not None:
            return earlier
    given = {k: v for k, v in values.items() if v not in (None, "", [])}
    product = _product_of(session, given.pop("product_id", None))
    clean = validate_record(form, given, access=access, context=context, writable=EDITABLE)
    application = Application(
        status="draft",
        owner_id=owner_id,
        org_unit_id=unit_of(session, owner_id),
        number=_next_number(session),
        product_id=product.id if product else None,
        idempotency_key=idempotency_key,
        custom={},
        **clean.builtin,
    )
    _check_product_and_exposure(session, application, product)
    store_custom(application, form, clean.custom, keys)
    session.add(application)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        if idempotency_key:  # the same request, retried at the same moment, got there first
            earlier = _by_idempotency_key(session, idempotency_key, owner_id)
            if earlier is not None:
                return earlier
        # two applications took the same number at once: take the next
        application.number = _next_number(session)
        session.add(application)  # the savepoint's rollback let go of it
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
    values = dict(values)
    if "product_id" in values:
        product = _product_of(session, values.pop("product_id"))
    else:
        product = _product_of(session, application.product_id)
    clean = validate_record(
        form,
        values,
        existing=values_of(application, form),
        access=access,
        context=context,
        writable=EDITABLE,
    )
    changed = {**clean.builtin, "product_id": product.id if product else None}
    _check_product_and_exposure(
        session,
        application,
        product,
        amount=changed.get("amount", application.amount),
        term_months=changed.get("term_months", application.term_months),
    )
    for key, value in changed.items():
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
    session: Session,
    access: RecordAccess,
    form: Form,
    application: Application,
    *,
    now: datetime | None = None,
) -> Application:
    """Submit a draft (or an application sent back) into the tenant's approval flow: every
    required field the form shows must be filled (a field made required after the draft was
    saved included). ``now``: when it is submitted (default: now; the demo's history gives
    past times, so that its approval steps have their times too)."""
    access.check_record(application)
    if application.status not in EDITABLE_STATUSES:
        raise Conflict(N_("This application was already submitted."))
    check_complete(session, form, application)
    values = values_of(application, form)
    application.status = "submitted"
    application.submitted_at = now or utcnow()
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
        now=now,
    )
    return application


def check_complete(session: Session, form: Form, application: Application) -> None:
    """The completeness check (资料完整性校验) before submission, changing nothing: 422 with
    ``errors`` naming every required field left empty (its key), the product when the tenant
    keeps products and none is named (``product_id``), every required document missing
    (``documents.<kind>``), and ``amount`` when outside the product's limits or over the
    borrower's exposure cap."""
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
    product = _product_of(session, application.product_id) if application.product_id else None
    if product is None and products.has_products(session):
        missing["product_id"] = [N_("This field is required.")]
    if product is not None:
        for kind in documents.missing_kinds(session, application, product.required_documents):
            missing[f"documents.{kind}"] = [N_("This document is required.")]
    if missing:
        raise ValidationFailed(
            N_("Fill in the required fields and add the required documents before submitting."),
            errors=missing,
        )
    _check_product_and_exposure(session, application, product)


# The application's status for each state of its approval
FLOW_STATUS = {
    "running": "submitted",
    "in_review": "in_review",  # a person first acted on the approval
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


def _product_of(session: Session, raw: Any) -> Product | None:
    """The product ``raw`` (an id, as text or UUID) names; 422 on ``product_id`` when none."""
    if raw in (None, ""):
        return None
    try:
        return products.get_product(
            session, raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))
        )
    except (ValueError, NotFound):
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"product_id": [message(N_("Choose one of the options."))]},
        ) from None


def _check_product_and_exposure(
    session: Session,
    application: Application,
    product: Product | None,
    *,
    amount: Decimal | None = None,
    term_months: int | None = None,
) -> None:
    amount = application.amount if amount is None else amount
    term_months = application.term_months if term_months is None else term_months
    if product is not None:
        products.check_limits(product, amount, term_months)
    if application.customer_id is not None and amount is not None:
        exposure.check_limit(
            exposure.exposure_of(
                session, application.customer_id, amount, product=product, exclude=application.id
            )
        )


def find_by_idempotency_key(
    session: Session, key: str | None, owner_id: uuid.UUID
) -> Application | None:
    """The application created earlier with ``key`` (None without a key); 409 when another
    staff member's request used it."""
    return _by_idempotency_key(session, key, owner_id) if key else None


def _by_idempotency_key(session: Session, key: str, owner_id: uuid.UUID) -> Application | None:
    found = session.scalar(select(Application).where(Application.idempotency_key == key))
    if found is not None and found.owner_id != owner_id:
        raise Conflict(N_("This Idempotency-Key was used for another request."))
    return found


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
        "product_id": application.product_id,
        "amount": application.amount,
        "term_months": application.term_months,
    }
    for spec in form.custom_fields:
        raw = (application.custom or {}).get(spec.key)
        audited[spec.key] = ("***" if raw is not None else None) if spec.encrypted else raw
    return audited
