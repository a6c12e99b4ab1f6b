"""Saved reports (保存的报表): a named report spec over one dataset, with the chart it is
meant to be drawn as, owned by a staff member and shared with roles. A saved report holds
the question, never the answer: running it runs its spec under the viewer's access."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow

CHART_TYPES = ("table", "pivot", "line", "bar", "stacked_bar", "pie", "funnel", "number", "map")
NAME_LENGTH = 100


class Report(TenantOwned, Base):
    """``spec`` is a report spec without its dataset (``dimensions``, ``measures``,
    ``filters``, ``sort``, ``limit``: ``loandesk.reports.query``); ``version`` grows with
    each edit."""

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"]),
    )

    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str] = mapped_column(Text, default="")
    dataset: Mapped[str] = mapped_column(String(80))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    chart_type: Mapped[str] = mapped_column(String(20), default="table")
    shared_with_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
