"""Contracts (借款合同), their templates per product, the firm's letterhead, the per-tenant
contract number counter, and the click-to-sign sessions of the built-in e-signature."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.sdk import Base, Money, TenantOwned, UTCDateTime, utcnow

STATES = ("draft", "sent", "signed", "void", "expired")


class ContractTemplate(TenantOwned, Base):
    """A contract template (借款合同模板): Jinja HTML and CSS written by a tenant admin, for
    one product or, with no product, the firm's default."""

    __tablename__ = "contracts_templates"
    __table_args__ = (
        Index("ix_contracts_templates_product", "tenant_id", "product_key", unique=True),
    )

    # the product's id as text, '' for the firm's default (one index covers both)
    product_key: Mapped[str] = mapped_column(String(36), default="")
    name: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    css: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Letterhead(TenantOwned, Base):
    """The firm's letterhead on its contracts (one row per tenant)."""

    __tablename__ = "contracts_letterheads"

    firm_name: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    logo_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)  # an attachment
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class NumberCounter(TenantOwned, Base):
    """The last contract number given in a year (HT2026000123): a row lock serialises
    concurrent contracts, so each number is given once."""

    __tablename__ = "contracts_counters"
    __table_args__ = (Index("ix_contracts_counters_year", "tenant_id", "year", unique=True),)

    year: Mapped[int] = mapped_column(Integer)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Contract(TenantOwned, Base):
    """One loan's contract. A loan has at most one contract that is not void."""

    __tablename__ = "contracts_contracts"
    __table_args__ = (
        CheckConstraint(f"status in {STATES!r}", name="status"),
        Index("ix_contracts_contracts_number", "tenant_id", "number", unique=True),
        Index(
            "ix_contracts_contracts_loan_live",
            "tenant_id",
            "loan_id",
            unique=True,
            sqlite_where=text("status != 'void'"),
            postgresql_where=text("status != 'void'"),
        ),
        Index("ix_contracts_contracts_status", "tenant_id", "status", "expires_on"),
    )

    number: Mapped[str] = mapped_column(String(20))
    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    loan_number: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    borrower_name: Mapped[str] = mapped_column(String(50))
    product_name: Mapped[str] = mapped_column(String(100))
    principal: Mapped[Decimal] = mapped_column(Money())
    periods: Mapped[int] = mapped_column(Integer)
    annual_rate_irr: Mapped[Decimal] = mapped_column(Numeric(12, 6))
    apr: Mapped[Decimal] = mapped_column(Numeric(12, 6))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    html: Mapped[str] = mapped_column(Text, default="")  # what the PDF was rendered from
    pdf_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # attachment: the rendered PDF
    pdf_sha256: Mapped[str] = mapped_column(String(64), default="")
    signed_pdf_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    signed_pdf_sha256: Mapped[str] = mapped_column(String(64), default="")
    provider: Mapped[str] = mapped_column(String(60), default="")
    provider_reference: Mapped[str] = mapped_column(String(200), default="")
    signing_url: Mapped[str] = mapped_column(Text, default="")
    link_nonce: Mapped[str] = mapped_column(String(32), default="")
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    reminded_on: Mapped[dt.date | None] = mapped_column(Date)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str] = mapped_column(String(500), default="")
    expired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SigningCode(TenantOwned, Base):
    """A one-time code (短信验证码) sent to the borrower to confirm a click-to-sign: kept as a
    hash, good for a few minutes and a few tries."""

    __tablename__ = "contracts_signing_codes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "contract_id"],
            ["contracts_contracts.tenant_id", "contracts_contracts.id"],
        ),
        Index("ix_contracts_signing_codes_contract", "tenant_id", "contract_id"),
    )

    contract_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
