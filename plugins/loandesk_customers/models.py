"""Customers (客户 / 借款人): the people a firm lends to."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.sdk import (
    Base,
    CustomValues,
    Money,
    PersonalData,
    TenantOwned,
    UTCDateTime,
    utcnow,
)


class Customer(PersonalData, CustomValues, Base):
    """A borrower. The ID number, mobile, address and bank card are personal data: stored
    encrypted, found by exact match, shown masked unless the viewer's field permission allows.
    ``owner_id`` is the credit officer the customer is assigned to (客户经理) and
    ``org_unit_id`` that officer's unit when assigned: data scopes read both."""

    __tablename__ = "customers_customers"
    __personal_fields__ = {
        "id_number": "resident_id",
        "mobile": "mobile",
        "address": "address",
        "bank_card": "bank_card",
    }
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "org_unit_id"], ["org_units.tenant_id", "org_units.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "merged_into_id"],
            ["customers_customers.tenant_id", "customers_customers.id"],
        ),
        CheckConstraint("status in ('active', 'closed')", name="status"),
        Index("ix_customers_customers_scope", "tenant_id", "org_unit_id", "owner_id"),
    )

    name: Mapped[str] = mapped_column(String(50), index=True)
    employer: Mapped[str | None] = mapped_column(String(100))
    monthly_income: Mapped[Decimal | None] = mapped_column(Money())
    marital_status: Mapped[str | None] = mapped_column(String(16))  # MARITAL_STATUSES
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    org_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # set when the retention period ran out and the personal data was cleared (匿名化)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # photos of the resident ID card (身份证人像面 / 国徽面): attachment ids, image only
    id_photo_front: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    id_photo_back: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # a duplicate merged into another record (合并): it then points to the survivor
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    if TYPE_CHECKING:  # the keyed hashes ``PersonalData`` declares
        id_number_hash: Mapped[str | None]
        mobile_hash: Mapped[str | None]


CONSENT_PURPOSES = ("credit_query", "personal_info", "marketing")
CONSENT_CHANNELS = ("web", "paper", "app")


class Consent(TenantOwned, Base):
    """What a borrower agreed to (个人信息处理授权, 征信查询授权, 营销), when, through which
    channel and to which text: the tenant's version string of the consent text and, when
    given, the SHA-256 of the text as shown, so the exact wording can be proven later. A
    withdrawn consent stays on record but no longer counts (PIPL art. 15)."""

    __tablename__ = "customers_consents"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers_customers.tenant_id", "customers_customers.id"],
        ),
        ForeignKeyConstraint(["tenant_id", "recorded_by_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "withdrawn_by_id"], ["users.tenant_id", "users.id"]),
        CheckConstraint(f"purpose in {CONSENT_PURPOSES}", name="purpose"),
        CheckConstraint(f"channel in {CONSENT_CHANNELS}", name="channel"),
        Index("ix_customers_consents_customer", "tenant_id", "customer_id", "purpose"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    purpose: Mapped[str] = mapped_column(String(32))
    text_version: Mapped[str] = mapped_column(String(40))
    text_hash: Mapped[str | None] = mapped_column(String(64))
    agreed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(16))
    evidence_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # an attachment: the signed form
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


CONTACT_RELATIONS = ("spouse", "parent", "sibling", "child", "colleague", "friend", "other")


class Contact(PersonalData, Base):
    """An emergency contact (紧急联系人) the borrower names, with the relation. The mobile is
    personal data like the customer's own: encrypted, found by keyed hash, and shown as the
    viewer's permission on the customer's ``mobile`` field allows."""

    __tablename__ = "customers_contacts"
    __personal_fields__ = {"mobile": "mobile"}
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers_customers.tenant_id", "customers_customers.id"],
        ),
        CheckConstraint(f"relation in {CONTACT_RELATIONS}", name="relation"),
        Index("ix_customers_contacts_customer", "tenant_id", "customer_id"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(50))
    relation: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    if TYPE_CHECKING:
        mobile_hash: Mapped[str | None]


CARD_PURPOSES = ("disbursement", "repayment")


class BankCard(PersonalData, Base):
    """A bank card of the borrower's (银行卡): for receiving the loan (放款) or paying it back
    (还款). The number is personal data, shown as the viewer's permission on the customer's
    ``bank_card`` field allows; a number is on a customer once (its keyed hash is unique per
    customer). At most one card per purpose is the default."""

    __tablename__ = "customers_bank_cards"
    __personal_fields__ = {"card_number": "bank_card"}
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers_customers.tenant_id", "customers_customers.id"],
        ),
        CheckConstraint(f"purpose in {CARD_PURPOSES}", name="purpose"),
        UniqueConstraint("tenant_id", "customer_id", "card_number_hash"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    bank_name: Mapped[str] = mapped_column(String(60))
    holder_name: Mapped[str] = mapped_column(String(50))
    purpose: Mapped[str] = mapped_column(String(16))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    if TYPE_CHECKING:
        card_number_hash: Mapped[str | None]
