"""``/api/v1/applications/<id>/documents``: an application's documents (申请材料), each a
file of one kind. Uploading and removing need ``records:write`` and a staff member who may
change the application (a draft, or one sent back); reading needs ``records:read`` and the
application in their scope."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest.fields import Upload

from loandesk import sdk
from loandesk_intake import documents, service
from loandesk_intake.api import DocumentSchema, blp
from loandesk_intake.documents import KIND_KEYS


class DocumentFormSchema(ma.Schema):
    kind = ma.fields.String(
        required=True, metadata={"description": "The kind: " + ", ".join(KIND_KEYS)}
    )


class DocumentFileSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "ID card photos must be images"})


def _application(application_id: uuid.UUID) -> tuple[sdk.RecordAccess, Any]:
    access = sdk.record_access("application")
    return access, service.get_application(sdk.session(), access, application_id)


@blp.route("/<uuid:application_id>/documents")
class Documents(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, DocumentSchema(many=True))
    def get(self, application_id: uuid.UUID) -> Any:
        """The application's documents, by kind."""
        _, application = _application(application_id)
        return documents.documents_of(sdk.session(), application)

    @sdk.require_token("records:write")
    @blp.arguments(DocumentFormSchema, location="form")
    @blp.arguments(DocumentFileSchema, location="files")
    @blp.response(201, DocumentSchema)
    @blp.alt_response(422, description="A wrong kind, or a file empty, too large or not taken")
    @blp.alt_response(409, description="The application is no longer a draft")
    def post(self, form: dict[str, Any], files: dict[str, Any], application_id: uuid.UUID) -> Any:
        """Upload a file (``multipart/form-data``) as a document of ``kind`` (audited)."""
        access, application = _application(application_id)
        sent = files["file"]
        data = sent.stream.read(50 * 1024 * 1024)
        document = documents.add_document(
            sdk.session(),
            access,
            application,
            kind=form["kind"],
            filename=sent.filename or "",
            data=data,
        )
        sdk.session().commit()
        return document


@blp.route("/<uuid:application_id>/documents/<uuid:document_id>")
class DocumentById(MethodView):
    @sdk.require_token("records:write")
    @blp.response(204)
    @blp.alt_response(409, description="The application is no longer a draft")
    def delete(self, application_id: uuid.UUID, document_id: uuid.UUID) -> None:
        """Take a document off a draft (audited)."""
        access, application = _application(application_id)
        document = documents.get_document(sdk.session(), application, document_id)
        documents.remove_document(sdk.session(), access, application, document)
        sdk.session().commit()


@blp.route("/<uuid:application_id>/documents/<uuid:document_id>/content")
class DocumentContent(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, description="The file's bytes, with its content type")
    def get(self, application_id: uuid.UUID, document_id: uuid.UUID) -> Any:
        """Download the document (audited); 404 outside the staff member's scope."""
        _, application = _application(application_id)
        document = documents.get_document(sdk.session(), application, document_id)
        return sdk.send_attachment(document.attachment_id)
