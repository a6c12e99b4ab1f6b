"""Emergency contacts (紧急联系人): the people a borrower names, each with the relation and a
mobile. The mobile is personal data like the customer's own, so the viewer's permission on the
customer's ``mobile`` field decides how it is shown (hidden, masked, in full) and who may add,
change or remove contacts (edit). Every change is audited, never with the number itself."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    BorrowerContacts,
    Conflict,
    ContactPerson,
    Forbidden,
    Keyring,
    NotFound,
    RecordAccess,
    ValidationFailed,
    audit_record,
    validate_personal,
)
from loandesk_customers.models import CONTACT_RELATIONS, Contact, Customer

GUARD_FIELD = "mobile"  # the customer's field whose permission covers contacts' mobiles
REDACTED = "***"

RELATION_LABELS = {
    "spouse": N_("Spouse"),
    "parent": N_("Parent"),
    "sibling": N_("Sibling"),
    "child": N_("Child"),
    "colleague": N_("Colleague"),
    "friend": N_("Friend"),
    "other": N_("Other"),
}


def contacts_of(session: Session, access: RecordAccess, customer: Customer) -> list[Contact]:
    """The customer's emergency contacts, in the order they were added."""
    access.check_record(customer)
    query = (
        select(Contact)
        .where(Contact.customer_id == customer.id)
        .order_by(Contact.created_at, Contact.id)
    )
    return list(session.scalars(query))


def present_contact(contact: Contact, access: RecordAccess, keys: Keyring) -> dict[str, Any]:
    """The contact as the viewer may see it: the mobile left out when the customer's mobile
    is hidden from them, masked when it is masked."""
    shown: dict[str, Any] = {
        "id": contact.id,
        "customer_id": contact.customer_id,
        "name": contact.name,
        "relation": contact.relation,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }
    return show_personal(shown, contact, "mobile", access.access(GUARD_FIELD), keys)


def show_personal(
    shown: dict[str, Any], row: Any, key: str, level: str, keys: Keyring
) -> dict[str, Any]:
    """``shown`` with the personal value ``key`` of ``row`` as ``level`` (the viewer's access
    to the customer's field guarding it) allows: left out when hidden, masked when masked;
    ``masked`` lists it when masked."""
    if level == "masked":
        shown[key] = row.get_masked(key, keys=keys)
    elif level != "hidden":
        shown[key] = row.get_personal(key, keys=keys)
    shown["masked"] = [key] if level == "masked" else []
    return shown


def add_contact(
    session: Session,
    access: RecordAccess,
    keys: Keyring,
    customer: Customer,
    values: Mapping[str, Any],
) -> Contact:
    """A new contact: ``name``, ``relation`` and ``mobile`` all required."""
    _check_writable(access, customer)
    contact = Contact(customer_id=customer.id)
    _apply(contact, values, keys, partial=False)
    session.add(contact)
    session.flush()
    audit_record(
        session,
        "customer.contact_add",
        "customer",
        customer.id,
        {"contact_id": str(contact.id), "name": contact.name, "relation": contact.relation,
         "mobile": REDACTED},
    )  # fmt: skip
    return contact


def update_contact(
    session: Session,
    access: RecordAccess,
    keys: Keyring,
    customer: Customer,
    contact_id: uuid.UUID,
    values: Mapping[str, Any],
) -> Contact:
    """Change the given fields of one of the customer's contacts."""
    _check_writable(access, customer)
    contact = _find(session, customer, contact_id)
    before = {"name": contact.name, "relation": contact.relation, "mobile": contact.mobile_hash}
    _apply(contact, values, keys, partial=True)
    session.flush()
    after = {"name": contact.name, "relation": contact.relation, "mobile": contact.mobile_hash}
    diff: dict[str, Any] = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if "mobile" in diff:
        diff["mobile"] = [REDACTED, REDACTED]
    if diff:
        audit_record(
            session,
            "customer.contact_update",
            "customer",
            customer.id,
            {"contact_id": str(contact.id), **diff},
        )
    return contact


def remove_contact(
    session: Session, access: RecordAccess, customer: Customer, contact_id: uuid.UUID
) -> None:
    """Remove one of the customer's contacts (the audit log keeps that it existed)."""
    _check_writable(access, customer)
    contact = _find(session, customer, contact_id)
    audit_record(
        session,
        "customer.contact_remove",
        "customer",
        customer.id,
        {"contact_id": str(contact.id), "name": contact.name, "relation": contact.relation},
    )
    session.delete(contact)
    session.flush()


def check_writable(access: RecordAccess, customer: Customer, guard_field: str) -> None:
    """Refuse a change to a part of ``customer`` guarded by ``guard_field`` unless the user
    may edit that field, and the record is still live (not anonymised, not merged)."""
    access.check_record(customer)
    if access.access(guard_field) != "edit":
        spec = access.record_type.field(guard_field)
        raise Forbidden(
            N_("You may not change the field %(field)s."), params={"field": spec.label_en}
        )
    if customer.anonymised_at is not None:
        raise Conflict(N_("This customer's personal data was anonymised; it cannot change."))
    if customer.merged_into_id is not None:
        raise Conflict(N_("This customer was merged into another record; change that one."))


def _check_writable(access: RecordAccess, customer: Customer) -> None:
    check_writable(access, customer, GUARD_FIELD)


def _find(session: Session, customer: Customer, contact_id: uuid.UUID) -> Contact:
    found = session.scalar(
        select(Contact).where(Contact.id == contact_id, Contact.customer_id == customer.id)
    )
    if found is None:
        raise NotFound(N_("No such record."))
    return found


def _apply(contact: Contact, values: Mapping[str, Any], keys: Keyring, *, partial: bool) -> None:
    """Check every given field, then write; invalid input changes nothing."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    if "name" in values or not partial:
        name = " ".join(str(values.get("name") or "").split())
        if not name or len(name) > 50:
            errors["name"] = [N_("Enter the contact's name (at most 50 characters).")]
        clean["name"] = name
    if "relation" in values or not partial:
        relation = values.get("relation")
        if relation not in CONTACT_RELATIONS:
            errors["relation"] = [
                N_("Choose spouse, parent, sibling, child, colleague, friend or other.")
            ]
        clean["relation"] = relation
    mobile = None
    if "mobile" in values or not partial:
        mobile = str(values.get("mobile") or "").strip()
        if not mobile:
            errors["mobile"] = [N_("Enter the contact's mobile number.")]
        else:
            try:
                validate_personal("mobile", mobile, field="mobile")
            except ValidationFailed as problem:
                errors.update(problem.errors)
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    for key, value in clean.items():
        setattr(contact, key, value)
    if mobile:
        contact.set_personal("mobile", mobile, keys=keys)


def audit_numbers_shown(
    session: Session, access: RecordAccess, customer: Customer, guard_field: str, what: str
) -> None:
    """One ``personal_data.view`` event when the viewer was shown ``what`` (``contacts.mobile``,
    ``cards.card_number``) in full: which customer and which numbers, never the values."""
    if access.access(guard_field) in ("view", "edit"):
        audit_record(
            session,
            "personal_data.view",
            "customer",
            customer.id,
            {"records": [str(customer.id)], "fields": [what]},
        )


def borrower_contacts(session: Session, customer_id: Any) -> BorrowerContacts | None:
    """``loandesk_borrower_contacts``: the customer's name, mobile, address and emergency
    contacts as the acting staff member's field permissions allow (masked or left out, like
    the customer's page), whatever their data scope; what is shown in full is audited."""
    from loandesk.sdk import keyring, record_access

    try:
        wanted = customer_id if isinstance(customer_id, uuid.UUID) else uuid.UUID(str(customer_id))
    except ValueError:
        return None
    customer = session.scalar(select(Customer).where(Customer.id == wanted))
    if customer is None:
        return None
    access, keys = record_access("customer"), keyring()
    fields = [access.record_type.field(k) for k in ("name", "mobile", "address")]
    shown = access.present(customer, keys, fields=fields)
    level = access.access(GUARD_FIELD)
    people = []
    for contact in session.scalars(
        select(Contact).where(Contact.customer_id == customer.id).order_by(Contact.created_at)
    ):
        phone = None
        if level == "masked":
            phone = contact.get_masked("mobile", keys=keys)
        elif level != "hidden":
            phone = contact.get_personal("mobile", keys=keys)
        people.append(ContactPerson(contact.name, contact.relation, phone))
    access.audit_shown(session)
    if people:
        audit_numbers_shown(session, access, customer, GUARD_FIELD, "contacts.mobile")
    masked = tuple(k for k in ("name", "mobile", "address") if access.access(k) == "masked")
    return BorrowerContacts(
        customer_id=customer.id,
        name=str(shown.get("name") or ""),
        phones=(str(shown["mobile"]),) if shown.get("mobile") else (),
        address=shown.get("address"),
        contacts=tuple(people),
        masked=masked,
    )
