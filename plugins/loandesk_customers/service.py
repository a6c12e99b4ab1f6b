"""Customers: creating, changing, assigning, closing and finding them, always under the acting
user's ``RecordAccess`` (data scope and field permissions). No Flask here: the API, the web
pages, jobs and tests call the same functions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    Conflict,
    DomainError,
    Keyring,
    ListResolved,
    ListState,
    RecordAccess,
    RecordList,
    ValidationFailed,
    ValueContext,
    audit_changes,
    audit_record,
    current,
    current_form,
    current_values,
    emit,
    emit_many,
    store_custom,
    unit_of,
    utcnow,
    validate_record,
    value_context,
)
from loandesk_customers.duplicates import refuse_duplicate_id
from loandesk_customers.models import Customer

PERSONAL = ("id_number", "mobile", "address", "bank_card")
ID_PHOTOS = ("id_photo_front", "id_photo_back")
EDITABLE = (
    "name",
    *PERSONAL,
    "employer",
    "monthly_income",
    "marital_status",
    "notes",
    *ID_PHOTOS,
)
REDACTED = "***"


# The web list's columns until the user chooses (the API shows every visible field), and the
# order: newest first.
LIST_COLUMNS = ("name", "mobile", "id_number", "status", "owner_id", "org_unit_id", "created_at")
LIST_SORT = "-created_at"


@dataclass(frozen=True)
class Page:
    items: list[Customer]
    total: int
    page: int
    per_page: int
    listed: ListResolved | None = None  # the columns, filters and order the page was made with


def customer_list(access: RecordAccess, *, columns: tuple[str, ...] = ()) -> RecordList:
    """The customer list as ``access``'s user may shape it (filters parse values in the
    tenant's time zone)."""
    return RecordList(access, columns, LIST_SORT, ValueContext(timezone=current().timezone))


def list_customers(
    session: Session,
    access: RecordAccess,
    keys: Keyring,
    *,
    q: str = "",
    status: str | None = None,
    owner_id: uuid.UUID | None = None,
    state: ListState | None = None,
    listing: RecordList | None = None,
    strict: bool = True,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """The customers the user's scope reaches, filtered and ordered as ``state`` says
    (newest first by default). ``q`` matches part of a name, or a whole mobile or ID number
    (personal data is found by exact match only). A filter, column or sort the user may not
    use raises ``ValidationFailed`` (``strict``), or is left out and named in
    ``listed.errors``."""
    access.require_read()
    listing = listing or customer_list(access)
    resolved = listing.resolve(state or ListState(), strict=strict)
    query = customer_query(access, keys, q=q, status=status, owner_id=owner_id)
    found = listing.page(session, query, resolved, keys=keys, page=page, per_page=per_page)
    return Page(found.items, found.total, found.page, found.per_page, resolved)


def customer_query(
    access: RecordAccess,
    keys: Keyring,
    *,
    q: str = "",
    status: str | None = None,
    owner_id: uuid.UUID | None = None,
) -> Select[Any]:
    """The customers the user's scope reaches that match the search box and status."""
    # a merged record is a pointer to its survivor: it is not listed
    query = access.where(select(Customer)).where(Customer.merged_into_id.is_(None))
    q = q.strip()
    if q:
        matches = [Customer.name.contains(q, autoescape=True)]
        # Search by personal data only for users who may at least see it masked: otherwise
        # a hit would confirm a number they may not know.
        for field in ("mobile", "id_number"):
            if access.access(field) != "hidden":
                matches.append(Customer.personal_match(field, q, keys=keys))
        query = query.where(or_(*matches))
    if status:
        query = query.where(Customer.status == status)
    if owner_id:
        query = query.where(Customer.owner_id == owner_id)
    return query


def get_customer(session: Session, access: RecordAccess, customer_id: uuid.UUID) -> Customer:
    """The customer, if the user's scope reaches it (``NotFound`` otherwise)."""
    found = session.scalar(select(Customer).where(Customer.id == customer_id))
    result: Customer = access.check_record(found)
    return result


def create_customer(
    session: Session,
    access: RecordAccess,
    keys: Keyring,
    values: Mapping[str, Any],
    *,
    owner_id: uuid.UUID,
) -> Customer:
    """A new customer owned by ``owner_id``; only fields the user may edit may be given."""
    access.require_read()
    values = {k: v for k, v in values.items() if v not in (None, "")}
    access.check_write(values)
    customer = Customer(status="active", owner_id=owner_id, org_unit_id=unit_of(session, owner_id))
    _apply(customer, values, keys, creating=True)
    refuse_duplicate_id(session, customer)
    session.add(customer)
    session.flush()
    created = _audited(customer)
    for key in PERSONAL:
        created[key] = REDACTED if created[key] else None
    audit_record(session, "customer.create", "customer", customer.id, created)
    emit(session, "customer.created", "customer", customer.id, {"owner_id": str(owner_id)})
    return customer


def create_customers(
    session: Session,
    access: RecordAccess,
    keys: Keyring,
    rows: Sequence[Mapping[str, Any]],
    *,
    owner_id: uuid.UUID,
) -> list[Customer | DomainError]:
    """Many new customers owned by ``owner_id`` (an import): each row validated like
    ``create_customer``, a refused row answered by its error and nothing written for it;
    the others written in one flush, with one audit event for them all (``customer.import``:
    which records, never their values) and a ``customer.created`` event each."""
    access.require_read()
    unit = unit_of(session, owner_id)
    results: list[Customer | DomainError] = []
    created: list[Customer] = []
    for values in rows:
        given = {k: v for k, v in values.items() if v not in (None, "")}
        try:
            access.check_write(given)
            customer = Customer(status="active", owner_id=owner_id, org_unit_id=unit)
            _apply(customer, given, keys, creating=True)
            refuse_duplicate_id(session, customer, pending=tuple(created))
        except DomainError as refused:
            results.append(refused)
            continue
        results.append(customer)
        created.append(customer)
    if created:
        session.add_all(created)
        session.flush()
        ids: list[object] = [str(c.id) for c in created]
        audit_record(session, "customer.import", "customer", None, {"records": ids})
        emit_many(session, "customer.created", "customer", ids, {"owner_id": str(owner_id)})
    return results


def update_customer(
    session: Session,
    access: RecordAccess,
    keys: Keyring,
    customer: Customer,
    values: Mapping[str, Any],
) -> Customer:
    """Change the given fields; a field the user may not edit is refused (403 naming it)
    before anything changes."""
    access.check_record(customer)
    access.check_write(values)
    _refuse_if_anonymised(customer)
    before = _audited(customer)
    _apply(customer, values, keys, creating=False)
    if customer.id_number_hash != before["id_number"]:
        refuse_duplicate_id(session, customer)
    session.flush()
    after = _audited(customer)
    diff = audit_changes(before, after)
    for field in PERSONAL:
        if field in diff:
            diff[field] = [REDACTED if v else None for v in diff[field]]
    if diff:
        audit_record(session, "customer.update", "customer", customer.id, diff)
        emit(session, "customer.updated", "customer", customer.id, {"fields": sorted(diff)})
    return customer


def assign(
    session: Session, access: RecordAccess, customer: Customer, owner_id: uuid.UUID
) -> Customer:
    """Give the customer to another credit officer; the record follows them to their unit."""
    access.check_record(customer)
    unit = unit_of(session, owner_id)
    if customer.owner_id == owner_id:
        return customer
    before = {"owner_id": customer.owner_id, "org_unit_id": customer.org_unit_id}
    customer.owner_id, customer.org_unit_id = owner_id, unit
    session.flush()
    audit_record(
        session,
        "customer.assign",
        "customer",
        customer.id,
        audit_changes(before, {"owner_id": owner_id, "org_unit_id": unit}),
    )
    emit(session, "customer.assigned", "customer", customer.id, {"owner_id": str(owner_id)})
    return customer


def set_status(session: Session, access: RecordAccess, customer: Customer, status: str) -> None:
    """Close the relationship (the retention clock starts) or reopen it."""
    access.check_record(customer)
    if status not in ("active", "closed"):
        raise ValidationFailed(
            N_("Some fields need attention."), errors={"status": [N_("Choose active or closed.")]}
        )
    if customer.status == status:
        return
    _refuse_if_anonymised(customer)
    before = customer.status
    customer.status = status
    customer.closed_at = utcnow() if status == "closed" else None
    session.flush()
    audit_record(session, "customer.status", "customer", customer.id, {"status": [before, status]})
    emit(session, f"customer.{status}", "customer", customer.id, {})


def _refuse_if_anonymised(customer: Customer) -> None:
    if customer.anonymised_at is not None:
        raise Conflict(N_("This customer's personal data was anonymised; it cannot change."))
    if customer.merged_into_id is not None:
        raise Conflict(N_("This customer was merged into another record; change that one."))


def _apply(customer: Customer, values: Mapping[str, Any], keys: Keyring, *, creating: bool) -> None:
    """Validate every given field with the tenant's customer form (built-in and custom
    fields, the one validation path), then write: invalid input changes nothing."""
    form = current_form("customer")
    existing = None
    if not creating:
        existing = current_values(customer, form, lambda spec: getattr(customer, spec.source))
    clean = validate_record(
        form, values, existing=existing, context=value_context(), writable=EDITABLE
    )
    for key, value in clean.builtin.items():
        if key in PERSONAL:
            customer.set_personal(key, value, keys=keys)
        else:
            setattr(customer, key, value)
    store_custom(customer, form, clean.custom, keys)


def _audited(customer: Customer) -> dict[str, Any]:
    """What the audit log compares: plain fields in full; personal ones by their keyed hash,
    which callers replace by a marker, so the log says a value changed, never what it is."""
    audited: dict[str, Any] = {
        "name": customer.name,
        "employer": customer.employer,
        "monthly_income": customer.monthly_income,
        "marital_status": customer.marital_status,
        "notes": customer.notes,
        **{key: getattr(customer, key) for key in ID_PHOTOS},  # attachment ids
    }
    for key in PERSONAL:
        audited[key] = getattr(customer, f"{key}_hash")  # a keyed hash: changes, not values
    return audited
