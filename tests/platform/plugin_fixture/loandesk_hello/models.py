"""The plugin's own table (prefixed with its name), tenant-owned like every business table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from loandesk import sdk


class HelloGreeting(sdk.TenantOwned, sdk.Base):
    __tablename__ = "hello_greetings"

    text: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(sdk.UTCDateTime, default=sdk.utcnow)
