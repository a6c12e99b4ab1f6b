"""Downloading a saved report's result from the web (``/reports/<id>/export.csv`` or
``.xlsx``): the same export as the API's, for the signed-in staff member — their data scope,
labels in their language, ``reports.export`` and export grants checked, audited. The links
in scheduled report e-mails point here."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, abort, g
from flask_babel import get_locale

from loandesk import extension
from loandesk.reports import export, saved
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


def file_response(found: export.Export) -> Response:
    """An export as a download (the API's too): its name as RFC 6266 / 5987 want it."""
    response = Response(found.content, mimetype=found.mimetype)
    response.headers["Content-Disposition"] = disposition(found.filename, inline=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response
