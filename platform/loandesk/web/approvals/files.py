"""Files people attach to what they do on an approval (a comment, a decision): kept like the
files of attachment fields (same types, size limit, storage and audit), as attachments of
record type ``flow`` and field ``comment`` uploaded by the acting user, whose ids go with the
action (the engine accepts only files the actor uploaded)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from loandesk import audit
from loandesk.db import uuid7
from loandesk.errors import ValidationFailed
from loandesk.fields.attachments import FILE_TYPES, clean_filename, sniff
from loandesk.fields.validation import message
from loandesk.flows.actions import MAX_ATTACHMENTS
from loandesk.i18n import N_
from loandesk.storage import Storage
from loandesk.storage.models import Attachment
from loandesk.tenancy.context import current_id
from loandesk.web.approvals.view import FLOW_FILES

FIELD = "comment"


def _refused(text: str) -> ValidationFailed:
    return ValidationFailed(N_("Some fields need attention."), errors={"files": [text]})


def keep(
    session: Session,
    store: Storage,
    files: Sequence[FileStorage],
    *,
    user_id: uuid.UUID,
    max_size: int,
) -> list[Attachment]:
    """Check and keep the uploaded ``files`` (those with a name; none at all is fine). Every
    file is checked before any is stored; a refused one names its file."""
    chosen = [f for f in files if f.filename]
    if len(chosen) > MAX_ATTACHMENTS:
        raise _refused(message(N_("Attach at most 10 files.")))
    checked: list[tuple[str, bytes, str]] = []
    for sent in chosen:
        name = clean_filename(sent.filename or "")
        data = sent.stream.read(max_size + 1)
        if not data:
            raise _refused(message(N_("%(name)s: the file is empty."), name=name))
        if len(data) > max_size:
            limit = f"{max_size / (1024 * 1024):.1f}".removesuffix(".0")
            raise _refused(
                message(
                    N_("%(name)s: the file is larger than %(limit)s MB."), name=name, limit=limit
                )
            )
        content_type = sniff(data, name)
        if content_type not in FILE_TYPES:
            raise _refused(
                message(
                    N_(
                        "%(name)s: upload a PDF, Word, Excel or PowerPoint file, "
                        "or a PNG, JPEG or WebP image."
                    ),
                    name=name,
                )
            )
        checked.append((name, data, content_type))
    tenant_id = current_id()
    if tenant_id is None:
        raise RuntimeError("attachments belong to a tenant; none is current")
    kept: list[Attachment] = []
    try:
        for name, data, content_type in checked:
            kept.append(_store(session, store, tenant_id, user_id, name, data, content_type))
    except Exception:
        forget(store, kept)  # the transaction rolls back: keep no file without its row
        raise
    session.flush()
    return kept


def _store(
    session: Session,
    store: Storage,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    name: str,
    data: bytes,
    content_type: str,
) -> Attachment:
    """One checked file stored, its row added and its upload audited."""
    row = Attachment(
        id=uuid7(),
        tenant_id=tenant_id,
        filename=name,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=user_id,
        record_type=FLOW_FILES,
        field_key=FIELD,
    )
    row.storage_key = f"{tenant_id}/{row.id}"
    store.put(row.storage_key, data, content_type)
    session.add(row)
    audit.record(
        session,
        "attachment.upload",
        "attachment",
        str(row.id),
        {
            "record_type": FLOW_FILES,
            "field": FIELD,
            "filename": row.filename,
            "content_type": content_type,
            "size": row.size,
            "sha256": row.sha256,
        },
    )
    return row


def forget(store: Storage, kept: Sequence[Attachment]) -> None:
    """Remove stored files whose action was refused (their rows are rolled back)."""
    for row in kept:
        store.delete(row.storage_key)
