"""Early warning's tables (逾期预警): the models a tenant trained on its own repayment history
(coefficients as JSON, never a pickle: a stored model is data anyone can read and no file can
run code on load), the signals events leave on a loan (a partial payment, a changed phone or
address, a broken promise), and the watch list (预警名单) the daily scoring writes."""

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
    Numeric,
    String,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.sdk import Base, CustomValues, JSONValues, TenantOwned, UTCDateTime, utcnow

MODEL_STATES = ("active", "retired")
LEVELS = ("high", "medium")
ENTRY_STATUSES = ("flagged", "cleared")
SIGNAL_KINDS = ("partial_payment", "contact_change", "promise_broken")
ACTIVE_WHERE = "state = 'active'"


def _in(column: str, values: tuple[str, ...]) -> str:
    return "{} in ({})".format(column, ", ".join(f"'{v}'" for v in values))


class WarningModel(TenantOwned, Base):
    """One trained version of the tenant's model: logistic regression over standardised
    features. ``parameters`` holds ``intercept``, and per feature (in ``features``' order)
    ``coefficients``, ``means`` and ``scales``; ``auc`` and ``ks`` are measured on the
    held-out part (``test_rows`` rows, stratified, seed ``seed``). One version is
    ``active`` at a time; training a new one retires it."""

    __tablename__ = "warning_models"
    __table_args__ = (
        CheckConstraint(_in("state", MODEL_STATES), name="state"),
        Index("ix_warning_models_version", "tenant_id", "version", unique=True),
        Index(
            "ix_warning_models_one_active",
            "tenant_id",
            unique=True,
            sqlite_where=text(ACTIVE_WHERE),
            postgresql_where=text(ACTIVE_WHERE),
        ),
    )

    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default="active")
    algorithm: Mapped[str] = mapped_column(String(30), default="logistic_regression")
    trained_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    trained_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    as_of: Mapped[dt.date] = mapped_column(Date)
    label_dpd: Mapped[int] = mapped_column(Integer)
    label_days: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer)
    positives: Mapped[int] = mapped_column(Integer)
    test_rows: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    auc: Mapped[Decimal] = mapped_column(Numeric(7, 6))
    ks: Mapped[Decimal] = mapped_column(Numeric(7, 6))
    features: Mapped[list[str]] = mapped_column(JSONValues, default=list)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONValues, default=dict)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Signal(TenantOwned, Base):
    """Something an event said about a loan on ``occurred_on``, kept so that rules and the
    model's features can count them over a window. ``source`` (the event's id) makes a
    redelivered event add nothing."""

    __tablename__ = "warning_signals"
    __table_args__ = (
        CheckConstraint(_in("kind", SIGNAL_KINDS), name="kind"),
        Index("ix_warning_signals_source", "tenant_id", "kind", "loan_id", "source", unique=True),
        Index("ix_warning_signals_loan", "tenant_id", "loan_id", "occurred_on"),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONValues, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WatchEntry(TenantOwned, CustomValues, Base):
    """A loan on the watch list (预警名单), or one that was and has been cleared: its score
    (0-100), level, and the reasons (rule hits and the model's strongest features, each in
    Chinese and English). The loan's number, borrower, product, owner and unit are copied
    from the loan book so that lists, data scopes, rules and reports need no other table.
    ``first_flagged_at`` is when the current spell on the list began."""

    __tablename__ = "warning_watchlist"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "org_unit_id"], ["org_units.tenant_id", "org_units.id"]),
        CheckConstraint(_in("status", ENTRY_STATUSES), name="status"),
        CheckConstraint(_in("level", LEVELS), name="level"),
        CheckConstraint("score between 0 and 100", name="score"),
        Index("ix_warning_watchlist_loan", "tenant_id", "loan_id", unique=True),
        Index("ix_warning_watchlist_status", "tenant_id", "status", "level", "score"),
        Index("ix_warning_watchlist_scope", "tenant_id", "org_unit_id", "owner_id"),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    loan_number: Mapped[str] = mapped_column(String(30))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    product_code: Mapped[str] = mapped_column(String(30))
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    org_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(10), default="flagged")
    level: Mapped[str] = mapped_column(String(10))
    score: Mapped[int] = mapped_column(Integer)
    model_score: Mapped[int | None] = mapped_column(Integer)
    model_version: Mapped[int | None] = mapped_column(Integer)
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONValues, default=list)
    reason_text: Mapped[str] = mapped_column(String(500), default="")
    first_flagged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_scored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
