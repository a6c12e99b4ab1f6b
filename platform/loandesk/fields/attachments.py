"""Files uploaded for attachment fields (附件): upload, check, name and send them.

An upload is kept in the storage backend under ``<tenant id>/<attachment id>`` and recorded as
an ``Attachment`` for the record type and field it was uploaded for; the record's field then
holds its id. Validation (``values.parse`` through ``current.value_context``) accepts an id
only if ``exists``: the attachment is the tenant's, was uploaded for that field, and is an
image when the field takes only images. Its type is read from the bytes, never from the name
or the browser's word: images are PNG, JPEG or WebP; other files PDF, Word, Excel or
PowerPoint (OOXML or the older binary formats) or an image.

Who may: upload, a user who may edit that field of that record type (``check_upload``);
download, one whose access to that field is not hidden (``downloadable``). Both are audited.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Iterable
from typing import Any

from flask import g, has_request_context, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.db import uuid7
from loandesk.errors import Forbidden, NotFound, ValidationFailed
from loandesk.fields.registry import FieldSpec
from loandesk.fields.validation import message
from loandesk.i18n import N_
from loandesk.rbac.access import RecordAccess
from loandesk.storage import Storage
from loandesk.storage.models import Attachment
from loandesk.tenancy.context import current_id

IMAGE_TYPES = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}
OOXML = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
OLE2 = {  # the binary formats share one container: the extension tells them apart
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
}
FILE_TYPES = {"application/pdf", *OOXML.values(), *OLE2.values(), *IMAGE_TYPES}
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def sniff(data: bytes, filename: str) -> str | None:
    """The content type of ``data`` if it is one LoanDesk keeps, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(_OLE2_MAGIC):
        return OLE2.get(_extension(filename))
    if data.startswith(b"PK\x03\x04"):
        return _ooxml(data)
    return None


def _ooxml(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()  # the directory only: nothing is decompressed
    except (zipfile.BadZipFile, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    for prefix, content_type in OOXML.items():
        if any(n.startswith(prefix) for n in names):
            return content_type
    return None


def _extension(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot >= 0 else ""


def clean_filename(filename: str) -> str:
    """The name to keep and offer on download: no path, no control or reserved characters,
    at most 200 characters with its extension kept."""
    name = unicodedata.normalize("NFC", filename.replace("\\", "/").rsplit("/", 1)[-1])
    name = _UNSAFE_NAME.sub("_", name).strip(" .") or "file"
    if len(name) > 200:
        extension = _extension(name)[:20]
        name = name[: 200 - len(extension)] + extension
    return name


def takes_images_only(spec: FieldSpec) -> bool:
    return spec.accept == "image"


def accepted_types(spec: FieldSpec) -> str:
    """The ``accept`` attribute of the field's file input (a hint; the server decides)."""
    if takes_images_only(spec):
        return ",".join(IMAGE_TYPES)
    return ".pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.png,.jpg,.jpeg,.webp"


# --- upload --------------------------------------------------------------------------------


def check_upload(access: RecordAccess, field_key: str) -> FieldSpec:
    """The attachment field ``field_key`` if the acting user may edit it, else Forbidden (or
    NotFound for a field the record type does not have or that holds no file)."""
    try:
        spec = access.record_type.field(field_key)
    except KeyError:
        raise NotFound(N_("No such field.")) from None
    if spec.kind != "attachment":
        raise NotFound(N_("No such field."))
    if not access.can_read or access.access(field_key) != "edit" or spec.read_only:
        raise Forbidden(
            N_("You may not change the field %(field)s."), params={"field": spec.label_en}
        )
    return spec


def upload(
    session: Session,
    store: Storage,
    access: RecordAccess,
    field_key: str,
    *,
    filename: str,
    data: bytes,
    max_size: int,
) -> Attachment:
    """Keep ``data`` as an attachment for ``field_key`` of ``access``'s record type, uploaded
    by the acting user. Refused (422, on ``file``) when empty, too large or of a type the
    field does not take; 403 when the user may not edit the field."""
    spec = check_upload(access, field_key)
    return keep(
        session,
        store,
        record_type=access.record_type.key,
        field_key=field_key,
        user_id=access.user_id,
        filename=filename,
        data=data,
        max_size=max_size,
        images_only=takes_images_only(spec),
    )


def keep(
    session: Session,
    store: Storage,
    *,
    record_type: str,
    field_key: str,
    user_id: uuid.UUID,
    filename: str,
    data: bytes,
    max_size: int,
    images_only: bool = False,
) -> Attachment:
    """Store ``data`` and record it as uploaded by ``user_id`` for ``field_key`` of
    ``record_type`` (audited), once its size and sniffed type pass (422 on ``file``). Who may
    upload is the caller's check."""
    if not data:
        raise _refused(message(N_("The file is empty.")))
    if len(data) > max_size:
        limit = f"{max_size / (1024 * 1024):.1f}".removesuffix(".0")
        raise _refused(message(N_("The file is larger than %(limit)s MB."), limit=limit))
    content_type = sniff(data, filename)
    if images_only and content_type not in IMAGE_TYPES:
        raise _refused(message(N_("Upload an image: PNG, JPEG or WebP.")))
    if content_type not in FILE_TYPES:
        raise _refused(
            message(
                N_("Upload a PDF, Word, Excel or PowerPoint file, or a PNG, JPEG or WebP image.")
            )
        )
    tenant_id = current_id()
    if tenant_id is None:
        raise RuntimeError("attachments belong to a tenant; none is current")
    row = Attachment(
        id=uuid7(),  # known before the insert: it names the stored object
        tenant_id=tenant_id,
        filename=clean_filename(filename),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=user_id,
        record_type=record_type,
        field_key=field_key,
    )
    row.storage_key = f"{tenant_id}/{row.id}"
    store.put(row.storage_key, data, content_type)
    session.add(row)
    session.flush()
    audit.record(
        session,
        "attachment.upload",
        "attachment",
        str(row.id),
        {
            "record_type": row.record_type,
            "field": row.field_key,
            "filename": row.filename,
            "content_type": row.content_type,
            "size": row.size,
            "sha256": row.sha256,
        },
    )
    return row


def _refused(text: str) -> ValidationFailed:
    return ValidationFailed(N_("Some fields need attention."), errors={"file": [text]})


# --- reading -------------------------------------------------------------------------------


def get(session: Session, ident: uuid.UUID) -> Attachment | None:
    return session.scalar(
        select(Attachment).where(Attachment.tenant_id == current_id(), Attachment.id == ident)
    )


def exists(session: Session, ident: uuid.UUID, spec: FieldSpec) -> bool:
    """Whether ``ident`` may be the value of the attachment field ``spec``: the current
    tenant's file, uploaded for this field, an image if the field takes only images."""
    found = get(session, ident)
    if found is None or found.field_key != spec.key:
        return False
    return not takes_images_only(spec) or found.content_type in IMAGE_TYPES


def downloadable(session: Session, ident: uuid.UUID, access_of: Any) -> Attachment:
    """The attachment ``ident`` if the acting user may see the field it was uploaded for
    (``access_of(record_type)`` gives their ``RecordAccess``); NotFound otherwise, as if it
    did not exist."""
    found = get(session, ident)
    if found is None:
        raise NotFound(N_("No such file."))
    try:
        access: RecordAccess = access_of(found.record_type)
    except (KeyError, LookupError, NotFound):  # the record type's plugin is not enabled
        raise NotFound(N_("No such file.")) from None
    if not access.can_read or access.access(found.field_key) == "hidden":
        raise NotFound(N_("No such file."))
    return found


def record_download(session: Session, attachment: Attachment, *, inline: bool) -> None:
    audit.record(
        session,
        "attachment.preview" if inline else "attachment.download",
        "attachment",
        str(attachment.id),
        {
            "record_type": attachment.record_type,
            "field": attachment.field_key,
            "filename": attachment.filename,
        },
    )


def download_url(ident: uuid.UUID | str) -> str:
    """Where the current caller downloads the file: the web page's link for a signed-in
    user, the API's for an API client."""
    if has_request_context() and g.get("api_token") is None and g.get("tenant") is not None:
        return url_for("tenant.attachments.download", attachment_id=ident)
    return f"/api/v1/attachments/{ident}/content"


def names_and_links(session: Session, ids: Iterable[Any]) -> dict[str, tuple[str, str]]:
    """For the ids among ``ids`` that are the tenant's attachments: id -> (filename, link)."""
    wanted: set[uuid.UUID] = set()
    for ident in ids:
        try:
            wanted.add(ident if isinstance(ident, uuid.UUID) else uuid.UUID(str(ident)))
        except ValueError:
            continue
    if not wanted:
        return {}
    rows = session.execute(
        select(Attachment.id, Attachment.filename).where(
            Attachment.tenant_id == current_id(), Attachment.id.in_(wanted)
        )
    )
    return {str(i): (name, download_url(i)) for i, name in rows}


def is_image_name(filename: str) -> bool:
    """Whether a kept file's name says it is an image (names are kept as uploaded, so this
    is a hint for showing a preview; the download decides by the sniffed type)."""
    return _extension(filename) in (".png", ".jpg", ".jpeg", ".webp")


def is_image(attachment: Attachment) -> bool:
    return attachment.content_type in IMAGE_TYPES
