"""The daily limit's bookkeeping: how many messages each mobile number got on a tenant-local
day, and which messages were counted already (a retry is not counted again). A mobile number
is kept only as the tenant's keyed hash of it (``Keyring.search_hash``), never in plaintext;
rows older than yesterday are deleted every night."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loandesk import sdk


class DailyCount(sdk.TenantOwned, sdk.Base):
    __tablename__ = "sms_tencent_daily_counts"
    __table_args__ = (UniqueConstraint("tenant_id", "mobile_hash", "day"),)

    mobile_hash: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    sent: Mapped[int] = mapped_column(Integer)


class CountedMessage(sdk.TenantOwned, sdk.Base):
    __tablename__ = "sms_tencent_counted_messages"
    __table_args__ = (UniqueConstraint("tenant_id", "message_key"),)

    message_key: Mapped[str] = mapped_column(String(200))
    day: Mapped[date] = mapped_column(Date)
