"""Loan applications (借款申请): what a customer asks to borrow, before a decision; the
products (贷款产品) they are made against and the documents (申请材料) that go with them."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.sdk import Base, CustomValues, JSONValues, Money, TenantOwned, UTCDateTime, utcnow

# draft → submitted → in_review → approved / rejected / withdrawn; returned goes back to the
# submitter; contracted is set once a contract is signed on an approved application
STATUSES = (
    "draft",
    "submitted",
    "in_review",
    "returned",
    "approved",
    "rejected",
    "withdrawn",
    "contracted",
)
OPEN_STATUSES = ("draft", "submitted", "in_review", "returned")
STATUS_CHECK = "status in ({})".format(", ".join(f"'{s}'" for s in STATUSES))


class Product(TenantOwned, Base):
    """What an application is made against until the servicing plugins bring a full product
    catalogue: amount and term limits, the documents an application must carry, and an
    optional cap on what one customer may owe or ask for in all (``max_exposure``)."""

    __tablename__ = "intake_products"
    __table_args__ = (
        CheckConstraint("min_amount > 0 and max_amount >= min_amount", name="amounts"),
        CheckConstraint(
            "min_term_months >= 1 and max_term_months <= 360 "
            "and max_term_months >= min_term_months",
            name="terms",
        ),
        Index("ix_intake_products_code", "tenant_id", "code", unique=True),
    )

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    min_amount: Mapped[Decimal] = mapped_column(Money())
    max_amount: Mapped[Decimal] = mapped_column(Money())
    min_term_months: Mapped[int] = mapped_column(Integer)
    max_term_months: Mapped[int] = mapped_column(Integer)
    max_exposure: Mapped[Decimal | None] = mapped_column(Money())
    required_documents: Mapped[list[Any]] = mapped_column(JSONValues, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Application(TenantOwned, CustomValues, Base):
    """A loan application by a customer: amount and term, the tenant's own fields in
    ``custom``. ``owner_id`` is the credit officer handling it and ``org_unit_id`` their
    unit (data scopes read both). ``number`` is what staff and borrowers quote (SQ...).
    ``idempotency_key`` is the key an API client sent when creating it: the same key again
    finds this application instead of making a second one."""

    __tablename__ = "intake_applications"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "org_unit_id"], ["org_units.tenant_id", "org_units.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers_customers.tenant_id", "customers_customers.id"],
        ),
        ForeignKeyConstraint(
            ["tenant_id", "product_id"], ["intake_products.tenant_id", "intake_products.id"]
        ),
        CheckConstraint(STATUS_CHECK, name="status"),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("term_months between 1 and 360", name="term_months"),
        Index("ix_intake_applications_number", "tenant_id", "number", unique=True),
        Index("ix_intake_applications_scope", "tenant_id", "org_unit_id", "owner_id"),
        Index(
            "ix_intake_applications_idempotency_key", "tenant_id", "idempotency_key", unique=True
        ),
    )

    number: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    product_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    amount: Mapped[Decimal] = mapped_column(Money())
    term_months: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    org_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Document(TenantOwned, Base):
    """A file of one kind (``kind``: id_front, income_proof, ...) on an application: the
    platform's attachment, kept for record type ``application``, field ``intake-document``."""

    __tablename__ = "intake_documents"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "application_id"],
            ["intake_applications.tenant_id", "intake_applications.id"],
        ),
        ForeignKeyConstraint(
            ["tenant_id", "attachment_id"], ["attachments.tenant_id", "attachments.id"]
        ),
        Index("ix_intake_documents_application", "tenant_id", "application_id", "kind"),
    )

    application_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(30))
    attachment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    filename: Mapped[str] = mapped_column(String(200))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
