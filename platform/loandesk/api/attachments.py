"""``/api/v1/attachments``: upload a file for an attachment field, read its details, download it.

An upload is kept for one field of one record type; the id it returns is then the value of
that field in a record's create or update. Uploading needs ``records:write`` and a client that
acts for a staff member who may edit that field; downloading needs ``records:read`` and a
staff member whose access to the field is not hidden.
"""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload

from loandesk import extension
from loandesk.auth.oauth import require_token
from loandesk.errors import ValidationFailed
from loandesk.fields import attachments
from loandesk.i18n import N_
from loandesk.rbac.current import record_access
from loandesk.storage import storage
from loandesk.storage.models import Attachment

blp = Blueprint(
    "api_attachments",
    __name__,
    url_prefix="/attachments",
    description="Files (附件) uploaded for attachment fields: PDF, Word, Excel, PowerPoint, "
    "PNG, JPEG or WebP (an image field takes only images), up to the install's size limit "
    "(LOANDESK_ATTACHMENT_MAX_SIZE, 10 MB by default).",
)


class UploadFormSchema(ma.Schema):
    record_type = ma.fields.String(
        required=True, metadata={"description": "The record type, e.g. customer"}
    )
    field = ma.fields.String(
        required=True, metadata={"description": "The key of the attachment field"}
    )


class UploadFileSchema(ma.Schema):
    file = Upload(
        required=True, metadata={"description": "The file; its type is read from its bytes"}
    )


class AttachmentSchema(ma.Schema):
    id = ma.fields.UUID(metadata={"description": "The value to give the field"})
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer(metadata={"description": "Bytes"})
    sha256 = ma.fields.String()
    record_type = ma.fields.String()
    field = ma.fields.String(attribute="field_key")
    uploaded_by_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime()
    download_url = ma.fields.Method("_download_url")

    def _download_url(self, row: Attachment) -> str:
        return f"/api/v1/attachments/{row.id}/content"


@blp.route("")
class Attachments(MethodView):
    @require_token("records:write")
    @blp.arguments(UploadFormSchema, location="form")
    @blp.arguments(UploadFileSchema, location="files")
    @blp.response(201, AttachmentSchema)
    def post(self, form: dict[str, Any], files: dict[str, Any]) -> Attachment:
        """Upload a file (``multipart/form-data``) for the attachment field ``field`` of
        ``record_type``. 403 when the client's staff member may not edit that field; 422 when
        the file is empty, too large or of a type the field does not take. Audited."""
        session = extension.session()
        access = record_access(form["record_type"])
        attachments.check_upload(access, form["field"])
        settings = extension.get().settings
        sent = files["file"]
        data = sent.stream.read(settings.attachment_max_size + 1)
        if not sent.filename:
            raise ValidationFailed(
                N_("Some fields need attention."), errors={"file": [N_("Choose a file to upload.")]}
            )
        row = attachments.upload(
            session,
            storage(),
            access,
            form["field"],
            filename=sent.filename,
            data=data,
            max_size=settings.attachment_max_size,
        )
        session.commit()
        return row


@blp.route("/<uuid:attachment_id>")
class AttachmentDetails(MethodView):
    @require_token("records:read")
    @blp.response(200, AttachmentSchema)
    def get(self, attachment_id: uuid.UUID) -> Attachment:
        """A file's details. 404 when it is not the tenant's, or the client's staff member
        may not see the field it was uploaded for."""
        return attachments.downloadable(extension.session(), attachment_id, record_access)


@blp.route("/<uuid:attachment_id>/content")
class AttachmentContent(MethodView):
    @require_token("records:read")
    @blp.response(200, description="The file's bytes, with its content type")
    def get(self, attachment_id: uuid.UUID) -> Any:
        """Download the file (audited). 404 as for its details."""
        from loandesk.web.attachment_views import send

        found = attachments.downloadable(extension.session(), attachment_id, record_access)
        return send(found, inline=False)
