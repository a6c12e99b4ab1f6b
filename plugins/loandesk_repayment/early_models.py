"""The record of an early repayment (提前还款): what was paid, how it was split, and what it did
to the schedule. The payment itself is an ordinary ``Payment`` (so reversal and the statement
treat it like any other); this row says it was an early repayment, for reversal (which puts the
replaced installments back) and for the report of early repayments."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKeyConstraint, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.sdk import Base, Money, TenantOwned, UTCDateTime, utcnow

EARLY_KINDS = ("full", "partial")
RECALCULATIONS = ("shorten_term", "lower_installment")


class EarlyRepayment(TenantOwned, Base):
    """One early repayment: ``amount`` received on ``repaid_on``; of it (with the credit
    balance used) ``arrears`` paid what was due that day, ``principal`` the principal repaid
    early, ``interest`` that principal's interest accrued in the current period and ``fee`` the
    early repayment fee. ``interest_waived``/``fees_waived``: what the replaced installments
    would have charged and the new schedule does not."""

    __tablename__ = "repayment_early_repayments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "loan_id"], ["repayment_loans.tenant_id", "repayment_loans.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "payment_id"], ["repayment_payments.tenant_id", "repayment_payments.id"]
        ),
        CheckConstraint("kind in ('full', 'partial')", name="kind"),
        CheckConstraint("status in ('posted', 'reversed')", name="status"),
        Index("ix_repayment_early_repayments_payment", "tenant_id", "payment_id", unique=True),
        Index("ix_repayment_early_repayments_loan", "tenant_id", "loan_id"),
        Index("ix_repayment_early_repayments_day", "tenant_id", "repaid_on"),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    payment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(10))
    recalculation: Mapped[str | None] = mapped_column(String(20))
    repaid_on: Mapped[dt.date] = mapped_column(Date)
    product_code: Mapped[str] = mapped_column(String(50))
    amount: Mapped[Decimal] = mapped_column(Money())
    credit_used: Mapped[Decimal] = mapped_column(Money())
    arrears: Mapped[Decimal] = mapped_column(Money())
    principal: Mapped[Decimal] = mapped_column(Money())
    interest: Mapped[Decimal] = mapped_column(Money())
    fee: Mapped[Decimal] = mapped_column(Money())
    interest_waived: Mapped[Decimal] = mapped_column(Money())
    fees_waived: Mapped[Decimal] = mapped_column(Money())
    periods_before: Mapped[int] = mapped_column(Integer)  # installments not yet due, replaced
    periods_after: Mapped[int] = mapped_column(Integer)  # installments of the new schedule
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="posted")
    posted_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reversed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
