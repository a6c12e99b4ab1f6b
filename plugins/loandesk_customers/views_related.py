"""The customer's 360° page (客户全景视图) and its parts: emergency contacts and bank cards
(added, changed and removed on the page), the duplicates page and merging. Routes of the
customers web blueprint (``loandesk_customers.views.bp``).

The page gathers the profile, ID photos, contacts, cards, consents, the sections other
plugins add (``loandesk_customer_360_sections``: applications, loans, payments, collection,
shown empty until a plugin fills them) and the customer's to-dos."""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from loandesk import sdk
from loandesk_customers import cards, consents, contacts, duplicates, service
from loandesk_customers.views import _locale, _record_view, _staff, bp

# The standard places of the 360° page, in order; a plugin's section with one of these keys
# fills it, until then it shows empty.
STANDARD_SECTIONS = (
    sdk.ProfileSection("applications", "借款申请", "Applications", order=10),
    sdk.ProfileSection("loans", "贷款", "Loans", order=20),
    sdk.ProfileSection("payments", "还款记录", "Payments", order=30),
    sdk.ProfileSection("collection", "催收记录", "Collection history", order=40),
)


def profile_sections(customer_id: uuid.UUID) -> list[sdk.ProfileSection]:
    """The standard sections, each filled by the plugin that contributes it, then the
    plugins' other sections by ``order``."""
    contributed = sdk.customer_360_sections(sdk.session(), customer_id)
    by_key = {s.key: s for s in contributed}
    standard = [by_key.pop(s.key, s) for s in STANDARD_SECTIONS]
    return standard + sorted(by_key.values(), key=lambda s: (s.order, s.key))


def render_profile(
    customer: Any,
    access: sdk.RecordAccess,
    keys: sdk.Keyring,
    *,
    contact_errors: sdk.FormErrors | None = None,
    contact_values: dict[str, Any] | None = None,
    card_errors: sdk.FormErrors | None = None,
    card_values: dict[str, Any] | None = None,
) -> Any:
    """The customer's page, with the contact or card form's errors when one was refused."""
    session = sdk.session()
    values = access.present(customer, keys)
    found_contacts = contacts.contacts_of(session, access, customer)
    found_cards = cards.cards_of(session, access, customer)
    context = {
        "customer": customer,
        "view": _record_view(access, values, customer=customer),
        "staff": _staff() if g.user.can("customers.assign") else [],
        "can_edit": any(f.key in service.EDITABLE or f.custom for f in access.editable_fields()),
        "can_close": g.user.can("customers.close"),
        "can_merge": g.user.can(duplicates.PERMISSION),
        "consents": consents.consents_of(session, access, customer),
        "consent_labels": (consents.PURPOSE_LABELS, consents.CHANNEL_LABELS),
        "contacts": [contacts.present_contact(c, access, keys) for c in found_contacts],
        "contacts_editable": _editable(access, customer, contacts.GUARD_FIELD),
        "relation_labels": contacts.RELATION_LABELS,
        "relation_choices": [("", "—")]
        + [(k, gettext(v)) for k, v in contacts.RELATION_LABELS.items()],
        "contact_errors": contact_errors or sdk.FormErrors(),
        "contact_values": contact_values or {},
        "cards": [cards.present_card(c, access, keys) for c in found_cards],
        "cards_editable": _editable(access, customer, cards.GUARD_FIELD),
        "card_purposes": cards.PURPOSE_LABELS,
        "purpose_choices": [("", "—")] + [(k, gettext(v)) for k, v in cards.PURPOSE_LABELS.items()],
        "card_errors": card_errors or sdk.FormErrors(),
        "card_values": card_values or {},
        "sections": profile_sections(customer.id),
        "locale": _locale(),
        "todos": sdk.record_todos("customer", customer.id),
        "todos_template": sdk.RECORD_TODOS_TEMPLATE,
        "survivor": _survivor(customer, access),
    }
    access.audit_shown(session)
    if found_contacts:
        contacts.audit_numbers_shown(session, access, customer, "mobile", "contacts.mobile")
    if found_cards:
        contacts.audit_numbers_shown(session, access, customer, "bank_card", "cards.card_number")
    session.commit()
    refused = bool(contact_errors) or bool(card_errors)
    return render_template("customers/detail.html", **context), (422 if refused else 200)


def _editable(access: sdk.RecordAccess, customer: Any, field: str) -> bool:
    live = customer.anonymised_at is None and customer.merged_into_id is None
    return live and access.access(field) == "edit"


def _survivor(customer: Any, access: sdk.RecordAccess) -> Any:
    """The record a merged customer points to, when the viewer's scope reaches it."""
    if customer.merged_into_id is None:
        return None
    try:
        return service.get_customer(sdk.session(), access, customer.merged_into_id)
    except sdk.NotFound:
        return None


def _customer(customer_id: uuid.UUID) -> tuple[sdk.RecordAccess, Any]:
    access = sdk.record_access("customer")
    return access, service.get_customer(sdk.session(), access, customer_id)


def _back(customer_id: uuid.UUID, anchor: str) -> Any:
    return redirect(url_for("tenant.customers.detail", customer_id=customer_id) + anchor)


def _form(*names: str) -> dict[str, str]:
    return {n: request.form[n].strip() for n in names if n in request.form}


@bp.post("/<uuid:customer_id>/contacts", endpoint="contact_add")
@sdk.login_required
def contact_add(customer_id: uuid.UUID) -> Any:
    access, customer = _customer(customer_id)
    keys = sdk.keyring()
    posted = _form("name", "relation", "mobile")
    try:
        contacts.add_contact(sdk.session(), access, keys, customer, posted)
    except sdk.ValidationFailed as problem:
        sdk.session().rollback()
        errors = sdk.FormErrors()
        errors.update(problem)
        return render_profile(customer, access, keys, contact_errors=errors, contact_values=posted)
    sdk.session().commit()
    flash(gettext("Contact added."), "success")
    return _back(customer_id, "#contacts")


@bp.post("/<uuid:customer_id>/contacts/<uuid:contact_id>/remove", endpoint="contact_remove")
@sdk.login_required
def contact_remove(customer_id: uuid.UUID, contact_id: uuid.UUID) -> Any:
    access, customer = _customer(customer_id)
    contacts.remove_contact(sdk.session(), access, customer, contact_id)
    sdk.session().commit()
    flash(gettext("Contact removed."), "success")
    return _back(customer_id, "#contacts")


@bp.post("/<uuid:customer_id>/cards", endpoint="card_add")
@sdk.login_required
def card_add(customer_id: uuid.UUID) -> Any:
    access, customer = _customer(customer_id)
    keys = sdk.keyring()
    posted: dict[str, Any] = _form("bank_name", "card_number", "holder_name", "purpose")
    posted["is_default"] = request.form.get("is_default") == "on"
    try:
        cards.add_card(sdk.session(), access, keys, customer, posted)
    except (sdk.ValidationFailed, sdk.Conflict) as problem:
        sdk.session().rollback()
        errors = sdk.FormErrors()
        errors.update(problem)
        return render_profile(customer, access, keys, card_errors=errors, card_values=posted)
    sdk.session().commit()
    flash(gettext("Bank card added."), "success")
    return _back(customer_id, "#cards")


@bp.post("/<uuid:customer_id>/cards/<uuid:card_id>/default", endpoint="card_default")
@sdk.login_required
def card_default(customer_id: uuid.UUID, card_id: uuid.UUID) -> Any:
    access, customer = _customer(customer_id)
    cards.update_card(sdk.session(), access, customer, card_id, {"is_default": True})
    sdk.session().commit()
    flash(gettext("Saved."), "success")
    return _back(customer_id, "#cards")


@bp.post("/<uuid:customer_id>/cards/<uuid:card_id>/remove", endpoint="card_remove")
@sdk.login_required
def card_remove(customer_id: uuid.UUID, card_id: uuid.UUID) -> Any:
    access, customer = _customer(customer_id)
    cards.remove_card(sdk.session(), access, customer, card_id)
    sdk.session().commit()
    flash(gettext("Bank card removed."), "success")
    return _back(customer_id, "#cards")


@bp.get("/duplicates", endpoint="duplicates")
@sdk.permission_required(duplicates.PERMISSION)
def duplicate_list() -> Any:
    access, keys = sdk.record_access("customer"), sdk.keyring()
    if not access.can_read:
        abort(403)
    groups = duplicates.find_duplicates(sdk.session(), access)
    shown = [(group, [(c, access.present(c, keys)) for c in group.customers]) for group in groups]
    access.audit_shown(sdk.session())
    sdk.session().commit()
    return render_template("customers/duplicates.html", groups=shown)


@bp.post("/<uuid:customer_id>/merge", endpoint="merge")
@sdk.permission_required(duplicates.PERMISSION)
def customer_merge(customer_id: uuid.UUID) -> Any:
    """Merge the posted ``merged_id`` into this customer, the survivor the user picked."""
    access, survivor = _customer(customer_id)
    try:
        merged_id = uuid.UUID(request.form.get("merged_id", ""))
    except ValueError:
        abort(404)
    merged = service.get_customer(sdk.session(), access, merged_id)
    try:
        duplicates.merge(sdk.session(), access, survivor, merged)
    except (sdk.ValidationFailed, sdk.Conflict) as problem:
        sdk.session().rollback()
        flash(gettext(problem.message), "error")
        return redirect(url_for("tenant.customers.duplicates"))
    sdk.session().commit()
    flash(gettext("Customers merged."), "success")
    return redirect(url_for("tenant.customers.detail", customer_id=customer_id))


@bp.route(
    "/<uuid:customer_id>/contacts/<uuid:contact_id>/edit",
    methods=["GET", "POST"],
    endpoint="contact_edit",
)
@sdk.login_required
def contact_edit(customer_id: uuid.UUID, contact_id: uuid.UUID) -> Any:
    access, customer = _customer(customer_id)
    keys = sdk.keyring()
    found = {c.id: c for c in contacts.contacts_of(sdk.session(), access, customer)}
    if contact_id not in found or not _editable(access, customer, contacts.GUARD_FIELD):
        abort(404 if contact_id not in found else 403)
    errors = sdk.FormErrors()
    values = contacts.present_contact(found[contact_id], access, keys)
    if request.method == "POST":
        posted = _form("name", "relation", "mobile")
        try:
            contacts.update_contact(sdk.session(), access, keys, customer, contact_id, posted)
        except sdk.ValidationFailed as problem:
            sdk.session().rollback()
            errors.update(problem)
            values = {**values, **posted}
        else:
            sdk.session().commit()
            flash(gettext("Saved."), "success")
            return _back(customer_id, "#contacts")
    sdk.session().commit()
    choices = [(k, gettext(v)) for k, v in contacts.RELATION_LABELS.items()]
    page = render_template(
        "customers/contact_form.html",
        customer=customer,
        contact_id=contact_id,
        values=values,
        errors=errors,
        relation_choices=choices,
    )
    return page, (422 if errors else 200)
