"""``/api/v1/customers/<id>/contacts`` and ``/cards``, ``/customers/duplicates`` and
``/customers/<id>/merge``: a customer's emergency contacts and bank cards, and merging
duplicate records. Routes of the customers blueprint (``loandesk_customers.api.blp``).

Contacts' mobiles and card numbers are shown as the acting staff member's permission on the
customer's ``mobile`` and ``bank_card`` fields allows, and changed only by those who may edit
those fields."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView

from loandesk import sdk
from loandesk_customers import cards, contacts, duplicates, service
from loandesk_customers.api import CustomerSchema, blp, present


class ContactSchema(ma.Schema):
    id = ma.fields.UUID()
    customer_id = ma.fields.UUID()
    name = ma.fields.String()
    relation = ma.fields.String(
        metadata={"description": "spouse, parent, sibling, child, colleague, friend, other"}
    )
    mobile = ma.fields.String(
        metadata={"description": "Absent when the customer's mobile is hidden from the viewer"}
    )
    masked = ma.fields.List(ma.fields.String())
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ContactWriteSchema(ma.Schema):
    """Checked by the service (a 422 names each field that needs attention); a change
    gives only the fields it changes."""

    name = ma.fields.Raw(allow_none=True)
    relation = ma.fields.Raw(
        allow_none=True,
        metadata={"description": "spouse, parent, sibling, child, colleague, friend, other"},
    )
    mobile = ma.fields.Raw(allow_none=True, metadata={"description": "11-digit mobile"})


class ContactListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ContactSchema))


class CardSchema(ma.Schema):
    id = ma.fields.UUID()
    customer_id = ma.fields.UUID()
    bank_name = ma.fields.String()
    card_number = ma.fields.String(
        metadata={"description": "Masked (6222 **** **** 1234) or absent as the viewer may see"}
    )
    holder_name = ma.fields.String()
    purpose = ma.fields.String(metadata={"description": "disbursement or repayment"})
    is_default = ma.fields.Boolean()
    masked = ma.fields.List(ma.fields.String())
    created_at = ma.fields.DateTime()


class CardCreateSchema(ma.Schema):
    """Checked by the service: the number must pass the Luhn check and not be on the
    customer already; the holder must be the customer."""

    bank_name = ma.fields.Raw(allow_none=True)
    card_number = ma.fields.Raw(allow_none=True)
    holder_name = ma.fields.Raw(allow_none=True)
    purpose = ma.fields.Raw(allow_none=True, metadata={"description": "disbursement, repayment"})
    is_default = ma.fields.Raw(allow_none=True, metadata={"description": "true or false"})


class CardUpdateSchema(ma.Schema):
    bank_name = ma.fields.Raw()
    purpose = ma.fields.Raw()
    is_default = ma.fields.Raw()


class CardListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CardSchema))


class DuplicateGroupSchema(ma.Schema):
    reason = ma.fields.String(
        metadata={"description": "id_number (same resident ID) or mobile_name"}
    )
    customers = ma.fields.List(ma.fields.Nested(CustomerSchema))


class DuplicateListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DuplicateGroupSchema))


class MergeSchema(ma.Schema):
    merged_id = ma.fields.UUID(
        required=True, metadata={"description": "The record merged into this one"}
    )


def _customer(customer_id: uuid.UUID) -> tuple[sdk.RecordAccess, Any]:
    access = sdk.record_access("customer")
    return access, service.get_customer(sdk.session(), access, customer_id)


def _given(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if v is not None}


@blp.route("/<uuid:customer_id>/contacts")
class CustomerContacts(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, ContactListSchema)
    def get(self, customer_id: uuid.UUID) -> dict[str, Any]:
        """The customer's emergency contacts (紧急联系人), in the order they were added."""
        access, customer = _customer(customer_id)
        keys, session = sdk.keyring(), sdk.session()
        found = contacts.contacts_of(session, access, customer)
        items = [contacts.present_contact(c, access, keys) for c in found]
        if found:
            contacts.audit_numbers_shown(session, access, customer, "mobile", "contacts.mobile")
        session.commit()
        return {"items": items}

    @sdk.require_token("records:write")
    @blp.arguments(ContactWriteSchema)
    @blp.response(201, ContactSchema)
    @blp.alt_response(403, description="The acting staff member may not edit the mobile")
    @blp.alt_response(422, description="A field that needs attention, named in ``errors``")
    def post(self, args: dict[str, Any], customer_id: uuid.UUID) -> dict[str, Any]:
        """Add an emergency contact: ``name``, ``relation`` and ``mobile``."""
        access, customer = _customer(customer_id)
        keys = sdk.keyring()
        contact = contacts.add_contact(sdk.session(), access, keys, customer, args)
        sdk.session().commit()
        return contacts.present_contact(contact, access, keys)


@blp.route("/<uuid:customer_id>/contacts/<uuid:contact_id>")
class CustomerContact(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(ContactWriteSchema)
    @blp.response(200, ContactSchema)
    @blp.alt_response(422, description="A field that needs attention, named in ``errors``")
    def patch(
        self, args: dict[str, Any], customer_id: uuid.UUID, contact_id: uuid.UUID
    ) -> dict[str, Any]:
        """Change some of the contact's fields."""
        access, customer = _customer(customer_id)
        keys = sdk.keyring()
        contact = contacts.update_contact(sdk.session(), access, keys, customer, contact_id, args)
        sdk.session().commit()
        return contacts.present_contact(contact, access, keys)

    @sdk.require_token("records:write")
    @blp.response(204)
    def delete(self, customer_id: uuid.UUID, contact_id: uuid.UUID) -> None:
        """Remove the contact."""
        access, customer = _customer(customer_id)
        contacts.remove_contact(sdk.session(), access, customer, contact_id)
        sdk.session().commit()


@blp.route("/<uuid:customer_id>/cards")
class CustomerCards(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, CardListSchema)
    def get(self, customer_id: uuid.UUID) -> dict[str, Any]:
        """The customer's bank cards (银行卡) by purpose, defaults first."""
        access, customer = _customer(customer_id)
        keys, session = sdk.keyring(), sdk.session()
        found = cards.cards_of(session, access, customer)
        items = [cards.present_card(c, access, keys) for c in found]
        if found:
            contacts.audit_numbers_shown(
                session, access, customer, "bank_card", "cards.card_number"
            )
        session.commit()
        return {"items": items}

    @sdk.require_token("records:write")
    @blp.arguments(CardCreateSchema)
    @blp.response(201, CardSchema)
    @blp.alt_response(403, description="The acting staff member may not edit the bank card")
    @blp.alt_response(409, description="The card is on the customer already")
    @blp.alt_response(422, description="A field that needs attention, named in ``errors``")
    def post(self, args: dict[str, Any], customer_id: uuid.UUID) -> dict[str, Any]:
        """Add a bank card: ``bank_name``, ``card_number`` (Luhn-checked), ``holder_name``
        (must be the customer's name), ``purpose``; ``is_default`` optional."""
        access, customer = _customer(customer_id)
        keys = sdk.keyring()
        card = cards.add_card(sdk.session(), access, keys, customer, _given(args))
        sdk.session().commit()
        return cards.present_card(card, access, keys)


@blp.route("/<uuid:customer_id>/cards/<uuid:card_id>")
class CustomerCard(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(CardUpdateSchema)
    @blp.response(200, CardSchema)
    @blp.alt_response(422, description="A field that needs attention, named in ``errors``")
    def patch(
        self, args: dict[str, Any], customer_id: uuid.UUID, card_id: uuid.UUID
    ) -> dict[str, Any]:
        """Change the bank name, the purpose, or make the card the default of its purpose."""
        access, customer = _customer(customer_id)
        card = cards.update_card(sdk.session(), access, customer, card_id, args)
        sdk.session().commit()
        return cards.present_card(card, access, sdk.keyring())

    @sdk.require_token("records:write")
    @blp.response(204)
    def delete(self, customer_id: uuid.UUID, card_id: uuid.UUID) -> None:
        """Remove the card."""
        access, customer = _customer(customer_id)
        cards.remove_card(sdk.session(), access, customer, card_id)
        sdk.session().commit()


@blp.route("/duplicates")
class CustomerDuplicates(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, DuplicateListSchema)
    @blp.alt_response(403, description="The acting staff member lacks customers.merge")
    def get(self) -> dict[str, Any]:
        """Groups of live customers that look like one borrower (customers.merge): the same
        resident ID number, or the same mobile and name; oldest record first."""
        access, keys = sdk.record_access("customer"), sdk.keyring()
        groups = duplicates.find_duplicates(sdk.session(), access)
        items = [
            {"reason": g.reason, "customers": [present(c, access, keys) for c in g.customers]}
            for g in groups
        ]
        access.audit_shown(sdk.session())
        sdk.session().commit()
        return {"items": items}


@blp.route("/<uuid:customer_id>/merge")
class CustomerMerge(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(MergeSchema)
    @blp.response(200, CustomerSchema)
    @blp.alt_response(403, description="The acting staff member lacks customers.merge")
    @blp.alt_response(409, description="One of the records is merged or anonymised already")
    @blp.alt_response(422, description="The records are not duplicates of each other")
    def post(self, args: dict[str, Any], customer_id: uuid.UUID) -> dict[str, Any]:
        """Merge ``merged_id`` into this customer, the survivor (customers.merge): its
        applications, consents, contacts, cards and ID photos move here, and the other
        record is marked merged, pointing here. One transaction: all of it or nothing."""
        access, keys, session = sdk.record_access("customer"), sdk.keyring(), sdk.session()
        survivor = service.get_customer(session, access, customer_id)
        merged = service.get_customer(session, access, args["merged_id"])
        duplicates.merge(session, access, survivor, merged)
        session.commit()
        return present(survivor, access, keys)
