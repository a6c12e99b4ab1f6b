"""The tenant: one lending firm. A platform table, not tenant-owned: it is how tenants are found."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, UTCDateTime, utcnow, uuid7
from loandesk.tenancy.context import TenantRef


class Plan(Base):
    """What a platform operator sells: which plugins its tenants may enable. A tenant without a
    plan (a private install) may enable every installed plugin."""

    __tablename__ = "plans"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    plugins: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Tenant(Base):
    __tablename__ = "tenants"
    __table_args__ = (CheckConstraint("status in ('active', 'suspended')", name="status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    locale: Mapped[str] = mapped_column(String(16), default="zh_CN")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped whenever the tenant's plugins or their settings change: caches key on it.
    plugins_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    plan_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("plans.id"))
    # Web sessions end after this long without a request, and this long after signing in.
    session_idle_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    session_absolute_hours: Mapped[int] = mapped_column(Integer, default=12, server_default="12")
    # Staff must sign in with a second factor (TOTP); those without one enrol at sign-in.
    require_two_factor: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    def ref(self) -> TenantRef:
        return TenantRef(
            id=self.id,
            slug=self.slug,
            name=self.name,
            status=self.status,
            timezone=self.timezone,
            locale=self.locale,
            currency=self.currency,
            plugins_version=self.plugins_version,
            session_idle_minutes=self.session_idle_minutes,
            session_absolute_hours=self.session_absolute_hours,
            require_two_factor=self.require_two_factor,
        )
