"""An uploaded file (附件): what was uploaded, by whom, for which field, and where the bytes are
kept (``storage_key`` in the configured storage backend)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow


class Attachment(TenantOwned, Base):
    """A file uploaded for an attachment field (``field_key``) of a record type. A record's
    field holds the attachment's id; an image field takes only images."""

    __tablename__ = "attachments"

    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))  # sniffed from the bytes
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    record_type: Mapped[str] = mapped_column(String(40))
    field_key: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
