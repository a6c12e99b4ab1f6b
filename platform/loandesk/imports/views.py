"""Import pages: download the template, upload a workbook, check the preview, confirm, follow
the import's progress (htmx polls the status fragment) and download the rejected rows."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from loandesk import audit, extension
from loandesk.errors import DomainError, ValidationFailed
from loandesk.fields.current import current_form
from loandesk.imports import service, sheets
from loandesk.imports.models import ImportBatch
from loandesk.jobs.runtime import enqueue, jobs
from loandesk.plugins import runtime
from loandesk.rbac.current import record_access
from loandesk.tenancy import current
from loandesk.web.auth_views import permission_required
from loandesk.web.forms import FormErrors
from loandesk.web.paging import page_asked

bp = Blueprint("imports", __name__, url_prefix="/imports")
PER_PAGE = 50


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _translate(text: str, **params: Any) -> str:
    return gettext(text, **params)


def describe(problem: dict[str, str]) -> str:
    """One problem of a row, in the sheet's terms: "第 12 行 C 列 手机号：…"."""
    if problem.get("column"):
        return gettext(
            "Row %(row)s, column %(column)s, %(header)s: %(message)s",
            row=problem.get("row", ""),
            column=problem["column"],
            header=problem.get("header", ""),
            message=problem["message"],
        )
    if problem.get("header"):
        return gettext(
            "Row %(row)s, %(header)s: %(message)s",
            row=problem.get("row", ""),
            header=problem["header"],
            message=problem["message"],
        )
    return gettext(
        "Row %(row)s: %(message)s", row=problem.get("row", ""), message=problem["message"]
    )


def start_job(batch: ImportBatch, name: str) -> None:
    """Enqueue ``name`` for ``batch`` once the batch is committed (the job reads it)."""
    session = extension.session()
    session.commit()
    batch.job_id = enqueue(name, current().id, str(batch.id))
    session.commit()


def template_response(record_type: str) -> Response:
    form = current_form(service.importable(runtime.record_type(record_type)))
    fields = service.importable_fields(form, record_access(record_type))
    data = sheets.template(
        fields,
        locale=_locale(),
        translate=_translate,
        title=gettext("Import %(record_type)s", record_type=form.record_type.label(_locale())),
    )
    name = f"{record_type}-template.xlsx"
    return Response(
        data,
        mimetype=sheets.XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/<record_type>/", methods=["GET", "POST"], endpoint="start")
@permission_required(service.PERMISSION)
def import_start(record_type: str) -> Any:
    declared = service.importable(runtime.record_type(record_type))
    form = current_form(declared)
    access = record_access(record_type)
    errors = FormErrors()
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            batch = service.upload(
                extension.session(),
                form,
                access,
                user=g.user,
                filename=(upload.filename or "") if upload else "",
                data=upload.read(service.MAX_BYTES + 1) if upload else b"",
                locale=_locale(),
                translate=_translate,
            )
        except ValidationFailed as problem:
            extension.session().rollback()
            errors.update(problem)
        else:
            start_job(batch, "core.import_preview")
            return redirect(url_for("tenant.imports.batch", batch_id=batch.id))
    return render_template(
        "imports/start.html",
        record_type=declared,
        fields=service.importable_fields(form, access),
        batches=service.batches(extension.session(), record_type, g.user),
        errors=errors,
        locale=_locale(),
        max_mb=service.MAX_BYTES // 1024 // 1024,
        max_rows=service.MAX_ROWS,
    ), (422 if errors else 200)


@bp.get("/<record_type>/template.xlsx", endpoint="template")
@permission_required(service.PERMISSION)
def import_template(record_type: str) -> Any:
    return template_response(record_type)


@bp.get("/batches/<uuid:batch_id>", endpoint="batch")
@permission_required(service.PERMISSION)
def import_batch(batch_id: uuid.UUID) -> Any:
    """The batch: its state and progress while a job runs; the preview's counts and rejected
    rows, then the result. htmx polls the status fragment until nothing runs."""
    session = extension.session()
    batch = service.get_batch(session, batch_id, g.user)
    page = page_asked()
    context = {
        "batch": batch,
        "record_type": runtime.record_type(batch.record_type),
        "job": jobs().info(batch.job_id) if batch.job_id else None,
        "rejected": service.rejected_rows(session, batch, page=page, per_page=PER_PAGE),
        "describe": describe,
        "locale": _locale(),
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "import-status":
        return render_template("imports/_status.html", **context)
    return render_template("imports/batch.html", **context)


@bp.post("/batches/<uuid:batch_id>/confirm", endpoint="confirm")
@permission_required(service.PERMISSION)
def import_confirm(batch_id: uuid.UUID) -> Any:
    session = extension.session()
    batch = service.get_batch(session, batch_id, g.user)
    try:
        service.confirm(session, batch, g.user)
    except DomainError as problem:
        session.rollback()
        flash(gettext(problem.message, **problem.params), "error")
    else:
        start_job(batch, "core.import_run")
        flash(gettext("The import has started."), "success")
    return redirect(url_for("tenant.imports.batch", batch_id=batch_id))


@bp.get("/batches/<uuid:batch_id>/rejected.xlsx", endpoint="rejected")
@permission_required(service.PERMISSION)
def import_rejected(batch_id: uuid.UUID) -> Any:
    return rejected_response(batch_id)


def rejected_response(batch_id: uuid.UUID) -> Response:
    """The rejected rows of a batch (the original columns plus the reasons), audited: the
    file holds the personal data the rows had."""
    session = extension.session()
    batch = service.get_batch(session, batch_id, g.get("user") or _acting())
    data = service.rejected_workbook(
        session, batch, describe=describe, error_header=gettext("Errors")
    )
    audit.record(
        session,
        "import.rejected_download",
        batch.record_type,
        None,
        {"batch": str(batch.id), "rows": batch.error_rows},
    )
    session.commit()
    stem = batch.filename.rsplit(".", 1)[0]
    return Response(
        data,
        mimetype=sheets.XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{_ascii(stem)}-rejected.xlsx"'},
    )


def _acting() -> Any:
    from loandesk.rbac.current import acting_user

    return acting_user()


def _ascii(name: str) -> str:
    cleaned = "".join(c for c in name if c.isascii() and (c.isalnum() or c in "-_"))
    return cleaned or "import"
