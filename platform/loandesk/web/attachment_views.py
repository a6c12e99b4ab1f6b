"""Uploading and downloading the files of attachment fields, from the record forms.

``upload`` answers htmx with the field's input (``partials/attachment_input.html``) holding
the new file's id, or the problem next to it; the record form's save then stores the id.
``download`` sends the file, inline for an image preview (``?inline=1``).
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_babel import get_locale, gettext

from loandesk import extension
from loandesk.errors import DomainError, ValidationFailed
from loandesk.fields import attachments
from loandesk.rbac.current import record_access
from loandesk.storage import NotStored, StorageError, storage
from loandesk.web.auth_views import login_required

bp = Blueprint("attachments", __name__, url_prefix="/attachments")


@dataclass
class UploadView:
    """The little of a ``RecordView`` the attachment input needs."""

    record_type: str
    locale: str
    names: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


@bp.record_once
def _template_globals(state: Any) -> None:
    state.app.add_template_global(attachments.accepted_types, "attachment_accept")
    state.app.add_template_global(attachments.is_image_name, "attachment_is_image_name")


@bp.post("/<record_type>/<field_key>", endpoint="upload")
@login_required
def upload(record_type: str, field_key: str) -> Any:
    session = extension.session()
    access = record_access(record_type)
    spec = attachments.check_upload(access, field_key)  # 403/404 before reading the file
    previous = request.form.get(f"{field_key}__current", "")
    view = UploadView(record_type, str(get_locale() or "zh"))
    sent = request.files.get(f"{field_key}__file") or request.files.get("file")
    value = previous
    try:
        if sent is None or not sent.filename:
            raise ValidationFailed("", errors={"file": [gettext("Choose a file to upload.")]})
        settings = extension.get().settings
        data = sent.stream.read(settings.attachment_max_size + 1)
        row = attachments.upload(
            session,
            storage(),
            access,
            field_key,
            filename=sent.filename,
            data=data,
            max_size=settings.attachment_max_size,
        )
        session.commit()
        value = str(row.id)
    except ValidationFailed as problem:
        session.rollback()
        view.errors[field_key] = [gettext(m) for m in problem.errors.get("file", [])]
    except StorageError:
        session.rollback()
        view.errors[field_key] = [gettext("The file could not be stored; try again later.")]
    view.names[field_key] = attachments.names_and_links(session, [value])
    return render_template(
        "partials/attachment_input.html",
        spec=spec,
        val=value,
        view=view,
        fid=f"f-{field_key}",
        upload_problems=view.errors.get(field_key, []),
    )


@bp.get("/<uuid:attachment_id>", endpoint="download")
@login_required
def download(attachment_id: uuid.UUID) -> Any:
    session = extension.session()
    try:
        found = attachments.downloadable(session, attachment_id, record_access)
    except DomainError:
        abort(404)
    inline = request.args.get("inline") == "1" and attachments.is_image(found)
    return send(found, inline=inline)


def send(found: Any, *, inline: bool) -> Response:
    """The file as a response, audited; shared by the web page and the API."""
    session = extension.session()
    try:
        chunks = storage().stream(found.storage_key)
    except NotStored:
        abort(404)
    attachments.record_download(session, found, inline=inline)
    session.commit()
    response = Response(stream_with_context(chunks), mimetype=found.content_type)
    response.headers["Content-Length"] = str(found.size)
    response.headers["Content-Disposition"] = disposition(found.filename, inline=inline)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def disposition(filename: str, *, inline: bool) -> str:
    """``Content-Disposition`` with an ASCII fallback name and the real one (RFC 6266), as
    Chinese file names need."""
    kind = "inline" if inline else "attachment"
    try:
        filename.encode("ascii")
    except UnicodeEncodeError:
        fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
        fallback = fallback.replace('"', "").replace("\\", "") or "file"
        return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
    escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
    return f'{kind}; filename="{escaped}"'
