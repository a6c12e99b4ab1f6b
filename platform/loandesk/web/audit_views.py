"""The audit log page: filters, pages, and a CSV export that is itself audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_babel import gettext

from loandesk import audit, extension
from loandesk.audit.search import AuditFilter, export_csv, search
from loandesk.tenancy import current, use
from loandesk.web.auth_views import permission_required
from loandesk.web.forms import FormErrors
from loandesk.web.paging import page_asked

bp = Blueprint("admin_audit", __name__, url_prefix="/admin/audit")
FILTER_FIELDS = ("actor", "action", "record_type", "record_id", "since", "until")


def _filter() -> tuple[AuditFilter, FormErrors, dict[str, str]]:
    values = {k: request.args.get(k, "").strip()[:100] for k in FILTER_FIELDS}
    errors = FormErrors()
    dates: dict[str, date | None] = {}
    for key in ("since", "until"):
        try:
            dates[key] = date.fromisoformat(values[key]) if values[key] else None
        except ValueError:
            errors.add(key, gettext("Use a date like 2026-03-01."))
            dates[key] = None
    return (
        AuditFilter(
            actor=values["actor"],
            action=values["action"],
            record_type=values["record_type"],
            record_id=values["record_id"],
            since=dates["since"],
            until=dates["until"],
        ),
        errors,
        values,
    )


@bp.get("", endpoint="audit")
@permission_required("audit.read")
def audit_page() -> Any:
    audit_filter, errors, values = _filter()
    page = page_asked()
    result = search(extension.session(), audit_filter, current().timezone, page=page)
    params = {k: v for k, v in values.items() if v}
    return render_template(
        "admin/audit.html", result=result, errors=errors, values=values, params=params
    ), (422 if errors else 200)


@bp.get("/export.csv")
@permission_required("audit.export")
def audit_export() -> Any:
    audit_filter, errors, _values = _filter()
    if errors:
        return Response(gettext("Use a date like 2026-03-01."), status=422)
    session = extension.session()
    audit.record(
        session,
        "audit.export",
        "audit",
        None,
        {k: v for k, v in request.args.items() if k in FILTER_FIELDS},
    )
    session.commit()
    tenant = current()
    filename = f"audit-{tenant.slug}-{date.today().isoformat()}.csv"

    db = extension.get().db

    def rows() -> Iterator[str]:
        # Streamed after the view has returned and its session is gone: the export has its
        # own tenant context and session, closed when the last row is sent.
        with use(tenant), db.session_factory() as export_session:
            try:
                yield from export_csv(export_session, audit_filter, tenant.timezone)
            finally:
                export_session.rollback()

    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
