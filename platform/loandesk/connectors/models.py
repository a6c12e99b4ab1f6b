"""How each of a tenant's connectors last fared: one row per connector key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow


class ConnectorStatus(TenantOwned, Base):
    """The last success and the last error (scrubbed of secrets and personal data) of one
    connector of the tenant."""

    __tablename__ = "connector_status"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    key: Mapped[str] = mapped_column(String(80))
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_detail: Mapped[str] = mapped_column(String(300), default="")
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def state(self) -> str:
        """``ok`` (正常) when the last outcome was a success, ``failing`` (异常) when it was an
        error, ``unused`` (未使用) before either."""
        if self.last_error_at and (
            self.last_success_at is None or self.last_error_at >= self.last_success_at
        ):
            return "failing"
        return "ok" if self.last_success_at else "unused"
