"""Customers: creating, changing, assigning, closing and finding them, always under the acting
user's ``RecordAccess`` (data scope and field permissions). No Flask here: the API, the web
pages, jobs and tests call the same functions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    Conflict,
    Keyring,
    RecordAccess,
    ValidationFailed,
    audit_changes,
    audit_record,
    emit,
    unit_of,
    utcnow,
)
from loandesk_customers.models import Customer

PERSONAL = ("id_number", "mobile", "address", "bank_card")
EDITABLE = ("name", *PERSONAL, "employer", "monthly_income", "notes")
MAX_INCOME = Decimal("100000000")  # a monthly income above 100 million is a typing error
REDACTED = "***"


@dataclass(frozen=True)
class Page:
    items: list[Customer]
    total: int
    page: int
    per_page: int


def list_customers(
    session: Session,
    access: RecordAccess,
    keys: Keyring,
    *,
    q: str = "",
    status: str | None = None,
    owner_id: uuid.UUID | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """The customers the user's scope reaches, newest first. ``q`` matches part of a name,
    or a whole mobile or ID number (personal data is found by exact match only)."""
    access.require_read()
    query = access.where(select(Customer))
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
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(Customer.created_at.desc(), Customer.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(list(items), total, page, per_page)


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
    session.add(customer)
    session.flush()
    created = _audited(customer)
    for key in PERSONAL:
        created[key] = REDACTED if created[key] else None
    audit_record(session, "customer.create", "customer", customer.id, created)
    emit(session, "customer.created", "customer", customer.id, {"owner_id": str(owner_id)})
    return customer


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


def _apply(customer: Customer, values: Mapping[str, Any], keys: Keyring, *, creating: bool) -> None:
    """Validate every given field first, then write: invalid input changes nothing."""
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(values) - set(EDITABLE))
    for key in unknown:
        errors[key] = [N_("Unknown field.")]
    clean: dict[str, Any] = {}
    if "name" in values or creating:
        name = str(values.get("name") or "").strip()
        if not name:
            errors["name"] = [N_("Enter the customer's name.")]
        elif len(name) > 50:
            errors["name"] = [N_("Use at most 50 characters.")]
        clean["name"] = name
    if creating and not str(values.get("mobile") or "").strip():
        errors["mobile"] = [N_("Enter the customer's mobile number.")]
    for key, limit, too_long in (
        ("employer", 100, N_("Use at most 100 characters.")),
        ("notes", 2000, N_("Use at most 2000 characters.")),
    ):
        if key in values:
            text = str(values[key] or "").strip()
            if len(text) > limit:
                errors[key] = [too_long]
            clean[key] = text or None
    if "monthly_income" in values:
        try:
            clean["monthly_income"] = parse_amount(values["monthly_income"])
        except ValidationFailed as problem:
            errors["monthly_income"] = problem.errors["amount"]
    staged = Customer()  # validates and encrypts into a throw-away row first
    for key in PERSONAL:
        if key in values and key not in errors:
            try:
                staged.set_personal(key, _text(values[key]), keys=keys)
            except ValidationFailed as problem:
                errors.update(problem.errors)
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    for key, value in clean.items():
        setattr(customer, key, value)
    for key in PERSONAL:
        if key in values:
            customer.set_personal(key, _text(values[key]), keys=keys)


def parse_amount(value: Any) -> Decimal | None:
    """An amount of yuan with at most 2 decimals, from a string or an integer: never from a
    float, which cannot hold most amounts exactly."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float):
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"amount": [N_('Send amounts as text, e.g. "8500.00".')]},
        )
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0 or amount >= MAX_INCOME:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"amount": [N_("Enter an amount of 0 or more, e.g. 8500.00.")]},
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"amount": [N_("Use at most 2 decimal places.")]},
        )
    return amount.quantize(Decimal("0.01"))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _audited(customer: Customer) -> dict[str, Any]:
    """What the audit log compares: plain fields in full; personal ones by their keyed hash,
    which callers replace by a marker, so the log says a value changed, never what it is."""
    audited: dict[str, Any] = {
        "name": customer.name,
        "employer": customer.employer,
        "monthly_income": customer.monthly_income,
        "notes": customer.notes,
    }
    for key in PERSONAL:
        audited[key] = getattr(customer, f"{key}_hash")  # a keyed hash: changes, not values
    return audited
