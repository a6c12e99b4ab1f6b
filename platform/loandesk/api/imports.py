"""``/api/v1/imports``: import records from Excel as the staff member the client acts for.

Upload a workbook (``POST /imports/{record_type}``, multipart ``file``): a preview job checks
every row; poll the batch until its state is ``previewed``, read the rejected rows, then
``POST .../confirm`` to write the valid ones. Needs the ``records.import`` permission.
"""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_babel import gettext
from flask_smorest import Blueprint
from flask_smorest.fields import Upload

from loandesk import extension
from loandesk.api.schemas import PageArgs, page_of
from loandesk.auth.oauth import require_token
from loandesk.fields.current import current_form
from loandesk.imports import service, sheets
from loandesk.imports.models import ImportBatch
from loandesk.imports.views import describe, rejected_response, start_job, template_response
from loandesk.jobs.runtime import jobs
from loandesk.plugins import runtime
from loandesk.rbac.current import acting_user, record_access

blp = Blueprint(
    "api_imports",
    __name__,
    url_prefix="/imports",
    description="Excel imports (批量导入): upload, preview every row, confirm, and the rejected "
    "rows. Needs the records.import permission of the acting staff member.",
)


class UploadSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "An .xlsx workbook (the template)"})


class ProblemSchema(ma.Schema):
    column = ma.fields.String(metadata={"description": 'The sheet column, e.g. "C"'})
    header = ma.fields.String()
    message = ma.fields.String()
    text = ma.fields.String(metadata={"description": "The whole problem as a sentence"})


class RowSchema(ma.Schema):
    row = ma.fields.Integer(metadata={"description": "The sheet's row number"})
    errors = ma.fields.List(ma.fields.Nested(ProblemSchema))


class BatchSchema(ma.Schema):
    id = ma.fields.UUID()
    record_type = ma.fields.String()
    filename = ma.fields.String()
    state = ma.fields.String(
        metadata={"description": "previewing, previewed, importing, done or failed"}
    )
    problem = ma.fields.String(allow_none=True)
    total_rows = ma.fields.Integer()
    ok_rows = ma.fields.Integer(metadata={"description": "Valid rows not imported yet"})
    error_rows = ma.fields.Integer()
    duplicate_rows = ma.fields.Integer(metadata={"description": "Rows imported before"})
    imported_rows = ma.fields.Integer()
    progress_done = ma.fields.Integer()
    progress_total = ma.fields.Integer()
    created_at = ma.fields.DateTime()


def _user() -> Any:
    user = acting_user()
    service.require_permission(user)
    return user


def _batch_out(batch: ImportBatch) -> dict[str, Any]:
    job = jobs().info(batch.job_id) if batch.job_id else None
    return {
        **{k: getattr(batch, k) for k in BatchSchema().fields if hasattr(batch, k)},
        "progress_done": job.progress_done if job else 0,
        "progress_total": job.progress_total if job else 0,
    }


@blp.route("/<record_type>/template")
class Template(MethodView):
    @require_token("records:read")
    @blp.response(200, {"type": "string", "format": "binary"}, content_type=sheets.XLSX_MIMETYPE)
    def get(self, record_type: str) -> Response:
        """The import template: the fields the acting staff member may enter, with drop-downs
        and an instructions sheet."""
        _user()
        return template_response(record_type)


@blp.route("/<record_type>")
class Uploads(MethodView):
    @require_token("records:write")
    @blp.arguments(UploadSchema, location="files")
    @blp.response(202, BatchSchema)
    @blp.alt_response(422, description="Not an .xlsx, too large, or no column matches a field")
    def post(self, files: dict[str, Any], record_type: str) -> dict[str, Any]:
        """Upload a workbook; its preview job starts at once."""
        user = _user()
        upload = files["file"]
        form = current_form(service.importable(runtime.record_type(record_type)))
        batch = service.upload(
            extension.session(),
            form,
            record_access(record_type),
            user=user,
            filename=upload.filename or "",
            data=upload.read(service.MAX_BYTES + 1),
            locale="en",
            translate=gettext,
        )
        start_job(batch, "core.import_preview")
        return _batch_out(batch)


@blp.route("/batches/<uuid:batch_id>")
class Batch(MethodView):
    @require_token("records:read")
    @blp.response(200, BatchSchema)
    def get(self, batch_id: uuid.UUID) -> dict[str, Any]:
        """A batch: its state, counts and the progress of its job."""
        return _batch_out(service.get_batch(extension.session(), batch_id, _user()))


@blp.route("/batches/<uuid:batch_id>/rejected")
class Rejected(MethodView):
    @require_token("records:read")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(RowSchema, "ImportRowPage"))
    def get(self, args: dict[str, Any], batch_id: uuid.UUID) -> dict[str, Any]:
        """The rows the preview (or the import) refused, with each problem's column."""
        session = extension.session()
        batch = service.get_batch(session, batch_id, _user())
        page = service.rejected_rows(session, batch, page=args["page"], per_page=args["per_page"])
        items = [
            {
                "row": r.row,
                "errors": [{**e, "text": describe({**e, "row": str(r.row)})} for e in r.errors],
            }
            for r in page.items
        ]
        return {"items": items, "page": page.page, "per_page": page.per_page, "total": page.total}


@blp.route("/batches/<uuid:batch_id>/rejected.xlsx")
class RejectedWorkbook(MethodView):
    @require_token("records:read")
    @blp.response(200, {"type": "string", "format": "binary"}, content_type=sheets.XLSX_MIMETYPE)
    def get(self, batch_id: uuid.UUID) -> Response:
        """The rejected rows as a workbook: the original columns plus the reasons."""
        _user()
        return rejected_response(batch_id)


@blp.route("/batches/<uuid:batch_id>/confirm")
class Confirm(MethodView):
    @require_token("records:write")
    @blp.response(202, BatchSchema)
    @blp.alt_response(409, description="The batch is not waiting for confirmation")
    def post(self, batch_id: uuid.UUID) -> dict[str, Any]:
        """Write the valid rows of a previewed batch (the import job starts)."""
        user = _user()
        session = extension.session()
        batch = service.get_batch(session, batch_id, user)
        service.confirm(session, batch, user)
        start_job(batch, "core.import_run")
        return _batch_out(batch)
