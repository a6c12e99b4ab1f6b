"""One table: a loan's installments (tenant-owned, with the owner and unit data scopes read,
and the borrower's mobile as personal data, encrypted)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from loandesk import sdk


class TestInstallment(sdk.PersonalData, sdk.CustomValues, sdk.Base):
    __tablename__ = "testloans_installments"
    __table_args__ = (Index("ix_testloans_installments_due", "tenant_id", "due_date"),)
    __personal_fields__ = {"mobile": "mobile"}

    loan_number: Mapped[str] = mapped_column(String(20))
    period: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(sdk.Money())
    status: Mapped[str] = mapped_column(String(8), default="due")
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    org_unit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(sdk.UTCDateTime, default=sdk.utcnow)
