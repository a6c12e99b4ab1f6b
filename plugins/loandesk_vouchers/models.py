"""The plugin's tables: the chart-of-accounts mapping (科目映射), vouchers (记账凭证) and their
lines. Amounts are ``sdk.Money`` (integer 分 in the database, ``Decimal`` in Python)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from loandesk import sdk

STATES = ("draft", "exported", "pushed", "push_failed")
AUX = ("none", "customer", "product")


class AccountMapping(sdk.TenantOwned, sdk.Base):
    """Which account of the firm's chart (科目) a ledger account posts to, for one voucher
    kind or for every kind (``kind`` = ``*``); the kind's own mapping wins."""

    __tablename__ = "vouchers_mappings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "account"),
        CheckConstraint("aux in ('none', 'customer', 'product')", name="aux"),
    )

    kind: Mapped[str] = mapped_column(String(20))
    account: Mapped[str] = mapped_column(String(30))
    subject_code: Mapped[str] = mapped_column(String(40))
    subject_name: Mapped[str] = mapped_column(String(100))
    aux: Mapped[str] = mapped_column(String(10), default="none")
    updated_at: Mapped[dt.datetime] = mapped_column(sdk.UTCDateTime, default=sdk.utcnow)


class Voucher(sdk.TenantOwned, sdk.Base):
    """One voucher: a business day's ledger lines of one kind, summed by account. ``sent``
    is what was last exported or pushed (its lines as plain values), for reconciliation."""

    __tablename__ = "vouchers_vouchers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "day", "kind"),
        CheckConstraint("state in ('draft', 'exported', 'pushed', 'push_failed')", name="state"),
        Index("ix_vouchers_vouchers_period", "tenant_id", "period", "word", "number", unique=True),
    )

    day: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    word: Mapped[str] = mapped_column(String(4))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM: numbers run per month
    number: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(200))
    total: Mapped[Decimal] = mapped_column(sdk.Money())
    state: Mapped[str] = mapped_column(String(12), default="draft")
    sent: Mapped[Any] = mapped_column(sdk.JSONValues, nullable=True)
    exported_at: Mapped[dt.datetime | None] = mapped_column(sdk.UTCDateTime, nullable=True)
    pushed_at: Mapped[dt.datetime | None] = mapped_column(sdk.UTCDateTime, nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    external_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    push_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(sdk.UTCDateTime, default=sdk.utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(sdk.UTCDateTime, default=sdk.utcnow)


class VoucherLine(sdk.TenantOwned, sdk.Base):
    """One line (分录): a ledger account's net for the day on the side it falls."""

    __tablename__ = "vouchers_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "voucher_id"], ["vouchers_vouchers.tenant_id", "vouchers_vouchers.id"]
        ),
        CheckConstraint("debit >= 0 and credit >= 0 and (debit = 0 or credit = 0)", name="sides"),
        Index("ix_vouchers_lines_voucher", "tenant_id", "voucher_id", "seq"),
    )

    voucher_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    seq: Mapped[int] = mapped_column(Integer)
    account: Mapped[str] = mapped_column(String(30))
    subject_code: Mapped[str] = mapped_column(String(40))
    subject_name: Mapped[str] = mapped_column(String(100))
    aux: Mapped[str] = mapped_column(String(10))
    aux_code: Mapped[str] = mapped_column(String(60), default="")
    summary: Mapped[str] = mapped_column(String(200))
    debit: Mapped[Decimal] = mapped_column(sdk.Money())
    credit: Mapped[Decimal] = mapped_column(sdk.Money())
