"""How long customers' personal data is kept after the relationship ends (保存期限)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from loandesk.sdk import ANONYMISED_NAME, RetentionSubject, clear_personal
from loandesk_customers.models import BankCard, Contact, Customer


def _due(cutoff: datetime) -> Select[Any]:
    return select(Customer.id).where(
        Customer.status == "closed",
        Customer.closed_at < cutoff,
        Customer.anonymised_at.is_(None),
    )


def _anonymise(session: Session, customer_id: uuid.UUID, now: datetime) -> Sequence[str]:
    customer = session.scalar(select(Customer).where(Customer.id == customer_id))
    if customer is None:
        return []
    cleared = clear_personal(customer)
    for field in ("employer", "monthly_income", "marital_status", "notes"):
        if getattr(customer, field) is not None:
            cleared.append(field)
            setattr(customer, field, None)
    customer.name = ANONYMISED_NAME
    cleared.append("name")
    for photo in ("id_photo_front", "id_photo_back"):
        if getattr(customer, photo) is not None:
            cleared.append(photo)
            setattr(customer, photo, None)
    # the emergency contacts and bank cards are the customer's personal data too
    for contact in session.scalars(select(Contact).where(Contact.customer_id == customer.id)):
        clear_personal(contact)
        contact.name = ANONYMISED_NAME
        cleared.append(f"contacts.{contact.id}")
    for card in session.scalars(select(BankCard).where(BankCard.customer_id == customer.id)):
        clear_personal(card)
        card.holder_name = ANONYMISED_NAME
        cleared.append(f"cards.{card.id}")
    customer.anonymised_at = now
    session.flush()
    return cleared


CUSTOMER_RETENTION = RetentionSubject(
    key="customers.customer",
    label_zh="客户",
    label_en="Customers",
    clock_zh="终止往来后",
    clock_en="after the relationship was closed",
    due=_due,
    anonymise=_anonymise,
    # Customer identification records are kept at least ten years after the relationship
    # ends (反洗钱法, 2024 revision, art. 34); a compliance officer confirms it per firm.
    minimum_days=3650,
    basis="反洗钱法 第三十四条",
)
