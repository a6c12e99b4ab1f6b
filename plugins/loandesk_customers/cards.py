"""Bank cards (银行卡): where a borrower receives the loan (放款卡) and pays it back from
(还款卡). The number is Luhn-checked, encrypted and shown as the viewer's permission on the
customer's ``bank_card`` field allows (``6222 **** **** 1234`` when masked); the same number is
on a customer once. The account holder must be the customer: a card in another name is
refused. At most one card per purpose is the default. Every change is audited."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    Conflict,
    Keyring,
    NotFound,
    RecordAccess,
    ValidationFailed,
    audit_record,
    validate_personal,
)
from loandesk_customers.contacts import check_writable, show_personal
from loandesk_customers.models import CARD_PURPOSES, BankCard, Customer

GUARD_FIELD = "bank_card"  # the customer's field whose permission covers card numbers

PURPOSE_LABELS = {"disbursement": N_("Disbursement"), "repayment": N_("Repayment")}


def cards_of(session: Session, access: RecordAccess, customer: Customer) -> list[BankCard]:
    """The customer's bank cards: defaults first, then in the order they were added."""
    access.check_record(customer)
    query = (
        select(BankCard)
        .where(BankCard.customer_id == customer.id)
        .order_by(BankCard.purpose, BankCard.is_default.desc(), BankCard.created_at, BankCard.id)
    )
    return list(session.scalars(query))


def present_card(card: BankCard, access: RecordAccess, keys: Keyring) -> dict[str, Any]:
    """The card as the viewer may see it: the number left out when the customer's bank card
    is hidden from them, masked when it is masked."""
    shown: dict[str, Any] = {
        "id": card.id,
        "customer_id": card.customer_id,
        "bank_name": card.bank_name,
        "holder_name": card.holder_name,
        "purpose": card.purpose,
        "is_default": card.is_default,
        "created_at": card.created_at,
    }
    return show_personal(shown, card, "card_number", access.access(GUARD_FIELD), keys)


def add_card(
    session: Session,
    access: RecordAccess,
    keys: Keyring,
    customer: Customer,
    values: Mapping[str, Any],
) -> BankCard:
    """A new card: ``bank_name``, ``card_number``, ``holder_name`` and ``purpose`` required,
    ``is_default`` optional (the first card of a purpose is its default anyway)."""
    check_writable(access, customer, GUARD_FIELD)
    clean = _validated(customer, values)
    number = clean.pop("card_number")
    card = BankCard(customer_id=customer.id, **clean)
    card.set_personal("card_number", number, keys=keys)
    if session.scalar(
        select(BankCard.id).where(
            BankCard.customer_id == customer.id, BankCard.card_number_hash == card.card_number_hash
        )
    ):
        raise Conflict(
            N_("This card is on the customer already."),
            errors={"card_number": [N_("This card is on the customer already.")]},
        )
    has_default = session.scalar(
        select(BankCard.id).where(
            BankCard.customer_id == customer.id,
            BankCard.purpose == card.purpose,
            BankCard.is_default.is_(True),
        )
    )
    if card.is_default or not has_default:
        _clear_default(session, customer.id, card.purpose)
        card.is_default = True
    session.add(card)
    session.flush()
    audit_record(
        session,
        "customer.card_add",
        "customer",
        customer.id,
        {"card_id": str(card.id), "bank_name": card.bank_name, "purpose": card.purpose,
         "is_default": card.is_default, "card_number": "***"},
    )  # fmt: skip
    return card


def update_card(
    session: Session,
    access: RecordAccess,
    customer: Customer,
    card_id: uuid.UUID,
    values: Mapping[str, Any],
) -> BankCard:
    """Change a card's ``bank_name``, ``purpose`` or ``is_default`` (true makes it the default
    of its purpose; the previous default no longer is). The number and the holder do not
    change: remove the card and add the right one."""
    check_writable(access, customer, GUARD_FIELD)
    card = _find(session, customer, card_id)
    unknown = sorted(set(values) - {"bank_name", "purpose", "is_default"})
    if unknown:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={key: [N_("This field cannot be changed.")] for key in unknown},
        )
    merged = {
        "bank_name": card.bank_name,
        "card_number": None,
        "holder_name": card.holder_name,
        "purpose": card.purpose,
        "is_default": card.is_default,
        **values,
    }
    clean = _validated(customer, merged, number_given=False)
    before = {k: getattr(card, k) for k in ("bank_name", "purpose", "is_default")}
    card.bank_name, card.purpose = clean["bank_name"], clean["purpose"]
    if clean["is_default"] and (not card.is_default or before["purpose"] != card.purpose):
        _clear_default(session, customer.id, card.purpose, keep=card.id)
    card.is_default = clean["is_default"]
    session.flush()
    after = {k: getattr(card, k) for k in ("bank_name", "purpose", "is_default")}
    diff = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if diff:
        audit_record(
            session,
            "customer.card_update",
            "customer",
            customer.id,
            {"card_id": str(card.id), **diff},
        )
    return card


def remove_card(
    session: Session, access: RecordAccess, customer: Customer, card_id: uuid.UUID
) -> None:
    """Remove one of the customer's cards (the audit log keeps that it existed)."""
    check_writable(access, customer, GUARD_FIELD)
    card = _find(session, customer, card_id)
    audit_record(
        session,
        "customer.card_remove",
        "customer",
        customer.id,
        {"card_id": str(card.id), "bank_name": card.bank_name, "purpose": card.purpose},
    )
    session.delete(card)
    session.flush()


def _clear_default(
    session: Session, customer_id: uuid.UUID, purpose: str, *, keep: uuid.UUID | None = None
) -> None:
    query = update(BankCard).where(
        BankCard.customer_id == customer_id,
        BankCard.purpose == purpose,
        BankCard.is_default.is_(True),
    )
    if keep is not None:
        query = query.where(BankCard.id != keep)
    session.execute(query.values(is_default=False))


def _find(session: Session, customer: Customer, card_id: uuid.UUID) -> BankCard:
    found = session.scalar(
        select(BankCard).where(BankCard.id == card_id, BankCard.customer_id == customer.id)
    )
    if found is None:
        raise NotFound(N_("No such record."))
    return found


def _validated(
    customer: Customer, values: Mapping[str, Any], *, number_given: bool = True
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    bank_name = " ".join(str(values.get("bank_name") or "").split())
    if not bank_name or len(bank_name) > 60:
        errors["bank_name"] = [N_("Enter the bank's name (at most 60 characters).")]
    number = str(values.get("card_number") or "").strip()
    if not number_given:
        pass
    elif not number:
        errors["card_number"] = [N_("Enter the card number.")]
    else:
        try:
            number = validate_personal("bank_card", number, field="card_number")
        except ValidationFailed as problem:
            errors.update(problem.errors)
    holder = " ".join(str(values.get("holder_name") or "").split())
    if not holder:
        errors["holder_name"] = [N_("Enter the account holder's name.")]
    elif holder != " ".join(customer.name.split()):
        errors["holder_name"] = [
            N_("The account holder must be the customer: a card in another name is refused.")
        ]
    purpose = values.get("purpose")
    if purpose not in CARD_PURPOSES:
        errors["purpose"] = [N_("Choose disbursement or repayment.")]
    is_default = values.get("is_default", False)
    if not isinstance(is_default, bool):
        errors["is_default"] = [N_("Choose yes or no.")]
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    return {
        "bank_name": bank_name,
        "card_number": number,
        "holder_name": holder,
        "purpose": purpose,
        "is_default": is_default,
    }
