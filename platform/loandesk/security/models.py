"""The rate-limit counters of the database backend (used when there is no Redis).

A platform table, not tenant-owned: limits are counted before a tenant is known (sign-up, the
token endpoint) and per IP address across tenants.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, UTCDateTime


class RateLimitCounter(Base):
    __tablename__ = "rate_limit_counters"

    # "<rule>:<SHA-256 of the subject>:<window number>": one row per subject and window.
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    # The end of the window: the row is pruned after it.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
