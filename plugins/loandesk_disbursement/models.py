"""Disbursement orders (放款单): paying out a pending loan, asked by one staff member and
approved by another (申请人/复核人), paid through a payout connector or marked paid by hand,
with the split of the amount between the loan's funders (资金方) frozen when it is asked."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.sdk import Base, CustomValues, Money, PersonalData, TenantOwned, UTCDateTime, utcnow

# requested → approved → paying → paid / failed; requested → rejected; requested or approved
# → cancelled. A failed payout may be paid again (a new attempt, a new key with the provider).
STATUSES = ("requested", "approved", "paying", "paid", "failed", "rejected", "cancelled")
OPEN_STATUSES = ("requested", "approved", "paying", "failed")
LIVE_WHERE = "status IN ('requested', 'approved', 'paying', 'failed', 'paid')"
ALERT_WHERE = "alert_at IS NOT NULL"
SHARE_UNIT = 1_000_000  # a funder's share in millionths: 700000 is 70%


def _in(column: str, values: tuple[str, ...]) -> str:
    return "{} in ({})".format(column, ", ".join(f"'{v}'" for v in values))


class Order(PersonalData, CustomValues, Base):
    """One disbursement order. The loan is read through the loan book (``sdk.loan_book()``);
    its number, customer, product and owner are copied here so that lists, data scopes and
    reports need no other plugin's tables. ``request_key`` is the API caller's
    ``Idempotency-Key`` on create; ``payout_key`` is what the provider gets (one per
    attempt), ``pay_key`` the caller's key on pay. ``alert`` says what a provider reported
    that the order could not take (a payout paid it does not record: money may have gone out
    twice), standing since ``alert_at`` until someone checks and clears it (需核查)."""

    __tablename__ = "disbursement_orders"
    __personal_fields__ = {"account_number": "bank_card"}
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "org_unit_id"], ["org_units.tenant_id", "org_units.id"]),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint(
            "reviewed_by_id is null or reviewed_by_id <> requested_by_id", name="maker_checker"
        ),
        Index("ix_disbursement_orders_number", "tenant_id", "number", unique=True),
        Index("ix_disbursement_orders_loan", "tenant_id", "loan_id"),
        Index("ix_disbursement_orders_status", "tenant_id", "status"),
        Index("ix_disbursement_orders_scope", "tenant_id", "org_unit_id", "owner_id"),
        Index("ix_disbursement_orders_request_key", "tenant_id", "request_key", unique=True),
        Index("ix_disbursement_orders_pay_key", "tenant_id", "pay_key", unique=True),
        Index("ix_disbursement_orders_payout_key", "tenant_id", "payout_key", unique=True),
        # one live order per loan, however many requests arrive at once: a second payout of
        # the same loan must be impossible, not merely unlikely
        Index(
            "ix_disbursement_orders_one_live",
            "tenant_id",
            "loan_id",
            unique=True,
            sqlite_where=text(LIVE_WHERE),
            postgresql_where=text(LIVE_WHERE),
        ),
        Index(
            "ix_disbursement_orders_alert",
            "tenant_id",
            "alert_at",
            sqlite_where=text(ALERT_WHERE),
            postgresql_where=text(ALERT_WHERE),
        ),
    )

    number: Mapped[str] = mapped_column(String(24))
    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    loan_number: Mapped[str] = mapped_column(String(30))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    product_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    product_name: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Money())
    account_name: Mapped[str] = mapped_column(String(50))
    bank_name: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(12), default="requested")
    method: Mapped[str | None] = mapped_column(String(60))  # "manual" or a connector's key
    requested_by_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    paid_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    provider_reference: Mapped[str | None] = mapped_column(String(100))
    bank_reference: Mapped[str | None] = mapped_column(String(100))
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    request_key: Mapped[str | None] = mapped_column(String(100))
    pay_key: Mapped[str | None] = mapped_column(String(100))
    payout_key: Mapped[str | None] = mapped_column(String(100))
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    org_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    alert: Mapped[str | None] = mapped_column(String(500))
    alert_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    if TYPE_CHECKING:
        account_number_hash: Mapped[str | None]
        account_number_enc: Mapped[str | None]


class OrderShare(TenantOwned, Base):
    """A funder's part of an order (联合贷 70/30: two rows), the amounts summing exactly to
    the order's (the last funder takes the rounding remainder)."""

    __tablename__ = "disbursement_order_shares"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "order_id"], ["disbursement_orders.tenant_id", "disbursement_orders.id"]
        ),
        CheckConstraint(f"share > 0 and share <= {SHARE_UNIT}", name="share"),
        Index(
            "ix_disbursement_order_shares_order", "tenant_id", "order_id", "position", unique=True
        ),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    position: Mapped[int] = mapped_column(Integer)
    funder_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    funder_name: Mapped[str] = mapped_column(String(100))
    share: Mapped[int] = mapped_column(Integer)  # millionths
    amount: Mapped[Decimal] = mapped_column(Money())
