"""The tables of personal-information protection: retention periods, the tenant's privacy
settings, and data-subject requests with their history. All tenant-owned (RLS on)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    and_,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from loandesk.auth.models import User
from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow
from loandesk.pii.fields import PersonalData

KINDS = ("access", "correction", "deletion", "other")
STATUSES = ("received", "in_progress", "completed", "refused")
OPEN_STATUSES = ("received", "in_progress")


class RetentionPeriod(TenantOwned, Base):
    """How long the tenant keeps one record type's personal data after its clock starts."""

    __tablename__ = "retention_periods"
    __table_args__ = (
        UniqueConstraint("tenant_id", "record_type"),
        CheckConstraint("days is null or days >= 0", name="days"),
    )

    record_type: Mapped[str] = mapped_column(String(80))  # a RetentionSubject's key
    days: Mapped[int | None] = mapped_column(Integer)  # None: kept forever
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the last run that was not a dry run, and how many records it anonymised
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_anonymised: Mapped[int] = mapped_column(Integer, default=0)


class PrivacySettings(TenantOwned, Base):
    """One row per tenant, created on first use."""

    __tablename__ = "privacy_settings"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        CheckConstraint("data_request_due_days between 1 and 30", name="due_days"),
    )

    # A request's default due date: this many days after it was received.
    data_request_due_days: Mapped[int] = mapped_column(Integer, default=15)
    # Requests are numbered 1, 2, 3, ... per tenant; bumping this row hands out the next.
    last_request_number: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DataRequest(PersonalData, Base):
    """A person's request to see, correct or delete their personal data (个人信息权利请求)."""

    __tablename__ = "data_requests"
    __personal_fields__ = {
        "subject_name": "name",
        "subject_id_number": "resident_id",
        "subject_mobile": "mobile",
    }
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint("kind in ('access', 'correction', 'deletion', 'other')", name="kind"),
        CheckConstraint(
            "status in ('received', 'in_progress', 'completed', 'refused')", name="status"
        ),
        ForeignKeyConstraint(["tenant_id", "handler_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "created_by_id"], ["users.tenant_id", "users.id"]),
        Index("ix_data_requests_tenant_status_due", "tenant_id", "status", "due_on"),
    )

    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="received")
    received_on: Mapped[date] = mapped_column(Date)  # tenant-local dates
    due_on: Mapped[date] = mapped_column(Date)
    handler_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    notes: Mapped[str] = mapped_column(Text, default="")
    # Why it was refused, or what was done; shown to whoever handles a later request.
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    handler: Mapped[User | None] = relationship(
        User,
        primaryjoin=lambda: and_(
            foreign(DataRequest.tenant_id) == User.tenant_id,
            foreign(DataRequest.handler_id) == User.id,
        ),
        viewonly=True,
        lazy="selectin",
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, today: date) -> bool:
        return self.is_open and self.due_on < today


class DataRequestChange(TenantOwned, Base):
    """One step in a request's history: created, or moved from one status to another."""

    __tablename__ = "data_request_changes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "request_id"], ["data_requests.tenant_id", "data_requests.id"]
        ),
        Index("ix_data_request_changes_tenant_request", "tenant_id", "request_id"),
    )

    request_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(16))  # None: the request was created
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_label: Mapped[str | None] = mapped_column(String(254))
