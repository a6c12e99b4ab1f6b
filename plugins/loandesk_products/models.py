"""Loan products (贷款产品) and their versions. A product is the name staff know (code, name,
whether it is offered); each version holds the full terms as they were published, and is
never changed afterwards: loans keep the version they were made on."""

from __future__ import annotations

import uuid
from datetime import datetime
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

from loandesk.sdk import Base, JSONValues, TenantOwned, UTCDateTime, utcnow


class Product(TenantOwned, Base):
    """A product; ``latest_version`` is the number of the version in force."""

    __tablename__ = "products_products"
    __table_args__ = (
        CheckConstraint("latest_version >= 1", name="latest_version"),
        Index("ix_products_products_code", "tenant_id", "code", unique=True),
    )

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ProductVersion(TenantOwned, Base):
    """One published version of a product's terms (``loandesk.finance.codec`` JSON, without
    the product's id, version number, code and name, which the row holds)."""

    __tablename__ = "products_versions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "product_id"], ["products_products.tenant_id", "products_products.id"]
        ),
        CheckConstraint("number >= 1", name="number"),
        Index("ix_products_versions_number", "tenant_id", "product_id", "number", unique=True),
    )

    product_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))  # the product's name when published
    terms: Mapped[dict[str, Any]] = mapped_column(JSONValues)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
