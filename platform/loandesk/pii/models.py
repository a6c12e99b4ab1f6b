"""A tenant's data keys: the keys that encrypt its personal data, stored wrapped by a key
derived from the master key (envelope encryption; see ``loandesk.pii.keys``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow


class TenantDataKey(TenantOwned, Base):
    __tablename__ = "tenant_data_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "version"),)

    # 1, 2, ...: new values are encrypted with the highest; every ciphertext names its version.
    version: Mapped[int] = mapped_column(Integer)
    # base64(nonce + AES-GCM(key-encryption key, data key)); re-wrapped when the master key
    # rotates, the data key itself never changes.
    wrapped_key: Mapped[str] = mapped_column(Text)
    # HMAC of a constant under the data key: tells whether a key held in memory is this one
    # without unwrapping it, and checks an unwrapped key.
    key_check: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rewrapped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
