"""One table: a loan's installments (tenant-owned, with the owner and unit data scopes read,
and the borrower's mobile as personal data, encrypted).

For reports (``testloans.installments``) an installment also carries the borrower's region
(GB/T 2260 code, as deep as known) and its province (the code's province, ``110000``): a
region field is grouped by its stored code, not by a level of it, so "by region" at province
level needs the province stored — as the servicing plugins will copy it from the borrower at
disbursement. ``principal_outstanding`` is the loan's principal still owed in the
installment's period (期初剩余本金: before that installment is repaid), so that summed by due
month it is the book's balance that month, and its overdue part the balance of the loans
overdue then (loans of monthly installments have one a month); ``days_past_due`` is how late
an overdue one is. (No index for reports: grouping a tenant's installments, or a unit's
quarter of them, reads the table through; see bench/README.md.)"""

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
    region: Mapped[str | None] = mapped_column(String(6))
    province: Mapped[str | None] = mapped_column(String(6))
    principal_outstanding: Mapped[Decimal] = mapped_column(
        sdk.Money(), default=Decimal(0), server_default="0"
    )
    days_past_due: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    org_unit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(sdk.UTCDateTime, default=sdk.utcnow)
