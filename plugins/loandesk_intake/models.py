"""Loan applications (借款申请): what a customer asks to borrow, before a decision."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.sdk import Base, CustomValues, Money, TenantOwned, UTCDateTime, utcnow

STATUSES = ("draft", "submitted", "returned", "approved", "rejected", "withdrawn")


class Application(TenantOwned, CustomValues, Base):
    """A loan application by a customer: amount and term, the tenant's own fields in
    ``custom``. ``owner_id`` is the credit officer handling it and ``org_unit_id`` their
    unit (data scopes read both). ``number`` is what staff and borrowers quote (SQ...)."""

    __tablename__ = "intake_applications"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "org_unit_id"], ["org_units.tenant_id", "org_units.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers_customers.tenant_id", "customers_customers.id"],
        ),
        CheckConstraint(
            "status in ('draft', 'submitted', 'returned', 'approved', 'rejected', 'withdrawn')",
            name="status",
        ),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("term_months between 1 and 360", name="term_months"),
        Index("ix_intake_applications_number", "tenant_id", "number", unique=True),
        Index("ix_intake_applications_scope", "tenant_id", "org_unit_id", "owner_id"),
    )

    number: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    term_months: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    org_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
