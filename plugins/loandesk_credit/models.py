"""Credit queries (征信查询记录): one row per call to an external connector, with what it cost,
how it went, how long it took, who asked and for which application, and the normalised
variables it returned (no raw answer, no personal data: the customer is referred to by id).
The latest answered row of a customer and connector is the cached result while it is valid."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKeyConstraint, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from loandesk import sdk


class CreditQuery(sdk.TenantOwned, sdk.Base):
    __tablename__ = "credit_queries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers_customers.tenant_id", "customers_customers.id"],
        ),
        ForeignKeyConstraint(["tenant_id", "asked_by_id"], ["users.tenant_id", "users.id"]),
        CheckConstraint("status in ('ok', 'failed')", name="status"),
        Index("ix_credit_queries_cache", "tenant_id", "customer_id", "connector", "created_at"),
        Index("ix_credit_queries_created_at", "tenant_id", "created_at"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    application_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    connector: Mapped[str] = mapped_column(String(100))
    consent_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(16))
    cost: Mapped[Decimal] = mapped_column(sdk.Money())
    duration_ms: Mapped[int] = mapped_column(Integer)
    asked_by_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    error: Mapped[str | None] = mapped_column(String(500))
    variables: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(sdk.UTCDateTime, default=sdk.utcnow)
