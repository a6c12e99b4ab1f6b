"""Files people attach to what they do on an approval (a comment, a decision): checked and kept
like the files of attachment fields (``fields.attachments``: same types, size limit, storage
and audit), as attachments of record type ``flow`` and field ``approval-comment``
(``flows.files``) uploaded by the acting user, whose ids go with the action (the engine accepts
only files the actor uploaded)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from loandesk.errors import ValidationFailed
from loandesk.fields import attachments
from loandesk.fields.validation import message
from loandesk.flows.actions import MAX_ATTACHMENTS
from loandesk.flows.files import FIELD
from loandesk.flows.files import RECORD_TYPE as FLOW_FILES
from loandesk.i18n import N_
from loandesk.storage import Storage
from loandesk.storage.models import Attachment


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
    file is checked before any is stored; a refused one is named in the message."""
    chosen = [f for f in files if f.filename]
    if len(chosen) > MAX_ATTACHMENTS:
        raise _refused(message(N_("Attach at most 10 files.")))
    checked: list[tuple[str, bytes, str]] = []
    for sent in chosen:
        name = attachments.clean_filename(sent.filename or "")
        data = sent.stream.read(max_size + 1)
        try:
            content_type = attachments.check_file(data, name, max_size=max_size)
        except ValidationFailed as problem:
            why = " ".join(problem.errors.get("file", []))
            raise _refused(f"{name}: {why}") from None
        checked.append((name, data, content_type))
    kept: list[Attachment] = []
    try:
        for name, data, content_type in checked:
            row = attachments.keep(
                session,
                store,
                filename=name,
                data=data,
                content_type=content_type,
                uploaded_by=user_id,
                record_type=FLOW_FILES,
                field_key=FIELD,
            )
            kept.append(row)
    except Exception:
        forget(store, kept)  # the transaction rolls back: keep no file without its row
        raise
    return kept


def forget(store: Storage, kept: Sequence[Attachment]) -> None:
    """Remove stored files whose action was refused (their rows are rolled back)."""
    for row in kept:
        store.delete(row.storage_key)
