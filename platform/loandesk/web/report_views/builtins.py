"""Built-in reports (内置报表) in the web: a plugin's report run under the viewer's data scope
and field permissions and drawn like a saved one (drill-down included), exported when the
viewer may, and copied into a saved report of theirs to change — the same service as the
API's copy (``reports.builtin.copy``: checked, audited; a name taken is said next to the
name)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from loandesk import extension
from loandesk.errors import DomainError, Forbidden, NotFound, ValidationFailed
from loandesk.reports import builtin
from loandesk.reports.builtin import BuiltinReport
from loandesk.reports.models import NAME_LENGTH
from loandesk.web.auth_views import login_required
from loandesk.web.htmx import htmx
from loandesk.web.report_export_views import exportable
from loandesk.web.report_views import bp, display


def usable_builtins() -> tuple[list[BuiltinReport], int]:
    """The built-in reports the viewer may run, and how many others need what they may not
    use (those are not listed)."""
    found = builtin.available()
    usable = [r for r in found if builtin.usable(r)]
    return usable, len(found) - len(usable)


def _builtin(key: str) -> BuiltinReport:
    try:
        return builtin.get(key)
    except NotFound:
        abort(404)


@bp.get("/builtin/<string:key>", endpoint="builtin")
@login_required
def view(key: str) -> Any:
    """A built-in report, run under the viewer's data scope and field permissions."""
    return _page(_builtin(key))


@bp.post("/builtin/<string:key>/copy", endpoint="copy_builtin")
@login_required
def copy(key: str) -> Any:
    """Copy the built-in report into a saved report of the viewer's, then edit it."""
    report = _builtin(key)
    session = extension.session()
    name = request.form.get("name", "").strip()
    try:
        row = builtin.copy(session, g.user, report, {"name": name or None})
    except Forbidden:
        session.rollback()
        abort(403)
    except DomainError as problem:
        session.rollback()
        errors = [gettext(m) for found in (problem.errors or {}).values() for m in found]
        if problem.status == 409 or not errors:
            errors.insert(0, gettext(problem.message, **problem.params))
        # 422 (not the service's 409) so that htmx swaps the page in, as the designer's save
        return _page(report, name=name, errors=errors, code=422)
    session.commit()
    flash(gettext("Report copied. Change it and save it."), "success")
    target = url_for("tenant.reports.edit", report_id=row.id)
    if htmx:
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def _page(
    report: BuiltinReport, name: str = "", errors: list[str] | None = None, code: int = 200
) -> Any:
    locale = display.locale()
    result, drill, problem = None, None, ""
    try:
        result = builtin.run(report)
        drill = display.drill_base(report.dataset, dict(report.spec))
    except ValidationFailed as failed:
        problem = gettext(failed.message, **failed.params)
    if problem and code == 200:
        code = 422
    from loandesk.web.report_views.pages import chart_names

    return render_template(
        "reports/builtin.html",
        report=report,
        title=report.name(locale),
        description=report.description_zh if locale.startswith("zh") else report.description_en,
        result=result,
        drill_url=drill,
        problem=problem,
        can_export=not problem and exportable(report.dataset, report.spec),
        chart_name=chart_names().get(report.chart_type, report.chart_type),
        copy_name=name or report.name(locale),
        copy_errors=errors or [],
        name_length=NAME_LENGTH,
    ), code
