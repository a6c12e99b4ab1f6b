"""Customers (客户 / 借款人): the people a firm lends to."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, String, Text, Uuid
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
        CheckConstraint("status in ('active', 'closed')", name="status"),
        Index("ix_customers_customers_scope", "tenant_id", "org_unit_id", "owner_id"),
    )

    name: Mapped[str] = mapped_column(String(50), index=True)
    employer: Mapped[str | None] = mapped_column(String(100))
    monthly_income: Mapped[Decimal | None] = mapped_column(Money())
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    org_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # set when the retention period ran out and the personal data was cleared (匿名化)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
