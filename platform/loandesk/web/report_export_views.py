"""Downloading a report's result from the web: a saved report (``/reports/<id>/export.csv``
or ``.xlsx``) or a built-in one (``/reports/builtin/<key>/export.xlsx``) — the same export as
the API's, for the signed-in staff member: their data scope, labels in their language,
``reports.export`` and export grants checked, audited. The links in scheduled report e-mails
point here; the report pages show them only to who may export (``exportable``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, abort, g
from flask_babel import get_locale

from loandesk import extension
from loandesk.errors import DomainError, NotFound
from loandesk.reports import builtin, export, saved, service
from loandesk.web.attachment_views import disposition
from loandesk.web.auth_views import login_required

bp = Blueprint("report_export", __name__, url_prefix="/reports")


@bp.get("/<uuid:report_id>/export.<fmt>", endpoint="download")
@login_required
def download(report_id: uuid.UUID, fmt: str) -> Response:
    if fmt not in export.FORMATS:
        abort(404)
    session = extension.session()
    row = saved.get(session, g.user, report_id)
    found = export.export_report(session, g.user, row, fmt, locale=str(get_locale()))
    session.commit()
    return file_response(found)


@bp.get("/builtin/<string:key>/export.<fmt>", endpoint="builtin")
@login_required
def download_builtin(key: str, fmt: str) -> Response:
    """A built-in report's result as a file, named after the report; audited with its
    spec."""
    if fmt not in export.FORMATS:
        abort(404)
    try:
        report = builtin.get(key)
    except NotFound:
        abort(404)
    session, locale = extension.session(), str(get_locale())
    found = export.export_spec(
        session, g.user, report.full_spec(), fmt, locale=locale, name=report.name(locale)
    )
    session.commit()
    return file_response(found)


def exportable(dataset: str, spec: Mapping[str, Any]) -> bool:
    """Whether the signed-in staff member may export a report of ``dataset`` and ``spec``
    (the export's own checks: ``reports.export``, an export grant for each field it reads);
    nothing is run. The pages show the export buttons only then."""
    try:
        export.may_export(g.user)
        export.check_fields(service.catalog(dataset), {"dataset": dataset, **spec})
    except DomainError:
        return False
    return True


def file_response(found: export.Export) -> Response:
    """An export as a download (the API's too): its name as RFC 6266 / 5987 want it."""
    response = Response(found.content, mimetype=found.mimetype)
    response.headers["Content-Disposition"] = disposition(found.filename, inline=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response
