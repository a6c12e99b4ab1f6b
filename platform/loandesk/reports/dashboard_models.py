"""Dashboards (仪表盘): saved reports laid out on a 12-column grid with global filters, and the
dashboard each role opens by default (``loandesk.reports.dashboards``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow

NAME_LENGTH = 100


class Dashboard(TenantOwned, Base):
    """``tiles``: ``[{"report_id", "x", "y", "w", "h"}]`` on a 12-column grid (a number card
    is a tile whose report's chart type is ``number``). A tile names its report by id without
    a foreign key: a deleted report leaves its tile, shown as "report deleted". ``filters``:
    the global filters the dashboard offers (date, product, org_unit, channel);
    ``refresh_seconds``: none, or how often a wall display reloads it."""

    __tablename__ = "dashboards"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"]),
    )

    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str] = mapped_column(Text, default="")
    tiles: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    filters: Mapped[list[str]] = mapped_column(JSON, default=list)
    refresh_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    shared_with_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RoleDashboard(TenantOwned, Base):
    """The dashboard holders of a role open by default: at most one per role. Deleting the
    role or the dashboard deletes the row."""

    __tablename__ = "role_dashboards"
    __table_args__ = (
        UniqueConstraint("tenant_id", "role_id"),
        ForeignKeyConstraint(
            ["tenant_id", "role_id"], ["roles.tenant_id", "roles.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "dashboard_id"],
            ["dashboards.tenant_id", "dashboards.id"],
            ondelete="CASCADE",
        ),
    )

    role_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    dashboard_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
