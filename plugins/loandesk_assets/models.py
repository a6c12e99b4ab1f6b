"""The assets plugin's tables (资产保全): each loan's five-tier class (五级分类) with its
override, the history of class changes (the class-migration report), and write-off requests
(核销) with what was written off and recovered since. Loans are the repayment plugin's: they
are named by id and copied fields (number, customer, owner, org unit, product), never joined,
so that lists, data scopes and reports need no other plugin's tables."""

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
    String,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.sdk import Base, Money, TenantOwned, UTCDateTime, utcnow

CLASS_CODES = ("normal", "special_mention", "substandard", "doubtful", "loss")
CAUSES = ("dpd", "override", "override_cleared")
WRITE_OFF_STATUSES = ("requested", "approved", "rejected", "cancelled")
LIVE_WRITE_OFF = "status IN ('requested', 'approved')"


def _in(column: str, values: tuple[str, ...]) -> str:
    return "{} in ({})".format(column, ", ".join(f"'{v}'" for v in values))


class LoanClass(TenantOwned, Base):
    """One loan's class, its id the loan's id. ``dpd_class`` is what its days past due give;
    ``override_class`` what a risk manager set (with a reason), which wins until cleared;
    ``loan_class`` the one in force. ``loan_status`` and ``principal_outstanding`` are the
    loan's as the last position left them (provisions count active loans)."""

    __tablename__ = "assets_loan_classes"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "org_unit_id"], ["org_units.tenant_id", "org_units.id"]),
        CheckConstraint(_in("dpd_class", CLASS_CODES), name="dpd_class"),
        CheckConstraint(_in("loan_class", CLASS_CODES), name="loan_class"),
        CheckConstraint(
            f"override_class is null or {_in('override_class', CLASS_CODES)}",
            name="override_class",
        ),
        Index("ix_assets_loan_classes_class", "tenant_id", "loan_status", "loan_class"),
        Index("ix_assets_loan_classes_scope", "tenant_id", "org_unit_id", "owner_id"),
    )

    loan_number: Mapped[str] = mapped_column(String(30))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    product_code: Mapped[str] = mapped_column(String(30))
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    org_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    loan_status: Mapped[str] = mapped_column(String(12))
    business_date: Mapped[dt.date] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    principal_outstanding: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    dpd_class: Mapped[str] = mapped_column(String(20))
    loan_class: Mapped[str] = mapped_column(String(20))
    override_class: Mapped[str | None] = mapped_column(String(20))
    override_reason: Mapped[str | None] = mapped_column(String(500))
    overridden_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    overridden_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClassChange(TenantOwned, Base):
    """A loan's class in force moved ``from_class`` → ``to_class`` on ``changed_on`` (the
    business date), by its days past due (``dpd``) or by a risk manager (``override`` /
    ``override_cleared``, with the reason). ``from_class`` is null for a loan's first class."""

    __tablename__ = "assets_class_changes"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "org_unit_id"], ["org_units.tenant_id", "org_units.id"]),
        CheckConstraint(_in("cause", CAUSES), name="cause"),
        CheckConstraint(_in("to_class", CLASS_CODES), name="to_class"),
        Index("ix_assets_class_changes_loan", "tenant_id", "loan_id", "created_at"),
        Index("ix_assets_class_changes_day", "tenant_id", "changed_on"),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    product_code: Mapped[str] = mapped_column(String(30))
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    org_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    from_class: Mapped[str | None] = mapped_column(String(20))
    to_class: Mapped[str] = mapped_column(String(20))
    changed_on: Mapped[dt.date] = mapped_column(Date)
    cause: Mapped[str] = mapped_column(String(20))
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    principal_outstanding: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    reason: Mapped[str | None] = mapped_column(String(500))
    changed_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WriteOff(TenantOwned, Base):
    """A write-off (核销) asked by one staff member (申请人) and approved by another (复核人);
    on approval the loan book writes the loan off and the amounts taken off the books are
    kept here, with what has been ``recovered`` since (restated after every payment)."""

    __tablename__ = "assets_write_offs"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "org_unit_id"], ["org_units.tenant_id", "org_units.id"]),
        CheckConstraint(_in("status", WRITE_OFF_STATUSES), name="status"),
        CheckConstraint(
            "reviewed_by_id is null or reviewed_by_id <> requested_by_id", name="maker_checker"
        ),
        Index("ix_assets_write_offs_status", "tenant_id", "status", "requested_at"),
        Index("ix_assets_write_offs_loan", "tenant_id", "loan_id"),
        # one live request per loan: two approvals of one loan must be impossible
        Index(
            "ix_assets_write_offs_one_live",
            "tenant_id",
            "loan_id",
            unique=True,
            sqlite_where=text(LIVE_WRITE_OFF),
            postgresql_where=text(LIVE_WRITE_OFF),
        ),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    loan_number: Mapped[str] = mapped_column(String(30))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    org_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(12), default="requested")
    reason: Mapped[str] = mapped_column(String(500))
    requested_by_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str | None] = mapped_column(String(500))
    written_off_on: Mapped[dt.date | None] = mapped_column(Date)
    principal: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    interest: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    fees: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    penalty: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    recovered: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
