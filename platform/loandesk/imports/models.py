"""Excel imports (批量导入): an uploaded workbook, what its preview found row by row, and the
fingerprints of rows already imported, which make a second upload of the same rows add
nothing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow

# What a batch goes through: uploaded → previewing → previewed → importing → done; failed when
# the workbook could not be read at all.
BATCH_STATES = ("previewing", "previewed", "importing", "done", "failed")
# A row of the sheet: valid and waiting (ok), refused (error), already imported before or
# earlier in the same sheet (duplicate), written (imported).
ROW_STATES = ("ok", "error", "duplicate", "imported")


class ImportBatch(TenantOwned, Base):
    """One uploaded workbook for one record type. ``content`` keeps the file for the jobs and
    for the workbook of rejected rows; ``columns`` maps each sheet column to a field key."""

    __tablename__ = "import_batches"

    record_type: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    locale: Mapped[str] = mapped_column(String(10))  # the uploader's: the sheet's language
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    state: Mapped[str] = mapped_column(String(12), default="previewing")
    columns: Mapped[list[Any]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    problem: Mapped[str | None] = mapped_column(String(500))
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    ok_rows: Mapped[int] = mapped_column(Integer, default=0)
    error_rows: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_rows: Mapped[int] = mapped_column(Integer, default=0)
    imported_rows: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "created_by_id"], ["users.tenant_id", "users.id"]),
        Index("ix_import_batches_record_type", "tenant_id", "record_type", "created_at"),
    )


class ImportRow(TenantOwned, Base):
    """A data row of a batch's sheet (``row`` is its number in the sheet, as Excel shows it).
    ``errors`` are ``{"column": "C", "header": "手机号", "message": ...}``; ``fingerprint``
    identifies the row's clean values (see ``ImportedRow``)."""

    __tablename__ = "import_rows"

    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    row: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    record_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "batch_id"],
            ["import_batches.tenant_id", "import_batches.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "batch_id", "row"),
        Index("ix_import_rows_status", "tenant_id", "batch_id", "status", "row"),
    )


class ImportedRow(TenantOwned, Base):
    """The fingerprint of a row imported into a record type: a keyed SHA-256 (HMAC with the
    tenant's search key) of the row's normalised values. The unique constraint is what keeps a
    re-uploaded file, or a retried import job, from creating a record twice."""

    __tablename__ = "imported_rows"

    record_type: Mapped[str] = mapped_column(String(40))
    fingerprint: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("tenant_id", "record_type", "fingerprint"),)
