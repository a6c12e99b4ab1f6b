"""The pages: the saved reports a staff member may see and the built-in reports they may run,
the designer (new and edit, its preview answering every change, save), a saved report run
under its viewer's access (with its export buttons and e-mail schedule), and delete. The
service checks and audits; these pages only show."""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import select

from loandesk import extension
from loandesk.errors import DomainError, NotFound, ValidationFailed
from loandesk.fields.lists import NO_VALUE, OPERATORS
from loandesk.rbac.models import Role
from loandesk.reports import saved, service, subscriptions
from loandesk.reports.catalog import Catalog
from loandesk.reports.models import CHART_TYPES, NAME_LENGTH, Report
from loandesk.reports.query import MAX_DIMENSIONS, MAX_LIMIT
from loandesk.web.auth_views import login_required
from loandesk.web.htmx import htmx
from loandesk.web.paging import page_asked
from loandesk.web.report_export_views import exportable
from loandesk.web.report_views import bp, builtins, designer, display, schedules

PER_PAGE = 20
TARGET = "report-designer"


def can_report(user: Any) -> bool:
    """Staff who may read the records of at least one dataset (the navigation's test)."""
    try:
        return bool(service.catalogs())
    except DomainError:
        return False


def _catalogs() -> list[Catalog]:
    found = service.catalogs()
    if not found:
        abort(403)
    return found


def _report(report_id: uuid.UUID) -> Report:
    try:
        return saved.get(extension.session(), g.user, report_id)
    except NotFound:
        abort(404)


@bp.get("", endpoint="index")
@login_required
def index() -> Any:
    catalogs = _catalogs()
    rows = saved.list_reports(extension.session(), g.user)
    page = page_asked()
    shown = rows[(page - 1) * PER_PAGE : page * PER_PAGE]
    labels = {c.dataset.key: c.dataset.label(display.locale()) for c in catalogs}
    usable, hidden = builtins.usable_builtins()
    return render_template(
        "reports/index.html",
        builtins=usable,
        builtins_hidden=hidden,
        locale=display.locale(),
        rows=shown,
        result={"page": page, "per_page": PER_PAGE, "total": len(rows)},
        datasets=labels,
        chart_names=chart_names(),
        can_change=lambda row: saved.can_change(g.user, row),
    )


@bp.get("/new", endpoint="new")
@login_required
def new() -> Any:
    catalogs = _catalogs()
    keys = [c.dataset.key for c in catalogs]
    dataset = request.args.get("dataset", "")
    state = designer.State(dataset=dataset if dataset in keys else keys[0])
    return _designer(state, catalogs)


@bp.get("/<uuid:report_id>/edit", endpoint="edit")
@login_required
def edit(report_id: uuid.UUID) -> Any:
    catalogs = _catalogs()
    row = _report(report_id)
    if not saved.can_change(g.user, row):
        abort(403)
    return _designer(designer.of_report(row), catalogs, row=row)


@bp.post("/preview", endpoint="preview")
@login_required
def preview() -> Any:
    """The designer again for the posted form, with the report run."""
    catalogs = _catalogs()
    catalog = _chosen(catalogs, request.form.get("dataset", ""))
    state = designer.posted(request.form, catalog)
    row = _posted_report()
    return _designer(state, catalogs, row=row)


@bp.post("/save", endpoint="save")
@login_required
def save() -> Any:
    """Save the designed report (new, or the one being edited); then show it."""
    catalogs = _catalogs()
    session = extension.session()
    catalog = _chosen(catalogs, request.form.get("dataset", ""))
    state = designer.posted(request.form, catalog)
    row = _posted_report()
    try:
        if row is None:
            row = saved.create(session, g.user, state.saved())
        else:
            row = saved.update(session, g.user, row, state.saved())
    except DomainError as problem:
        session.rollback()
        errors = designer.field_errors(problem.errors or {})
        if problem.status == 409:
            errors.setdefault("name", []).append(gettext(problem.message, **problem.params))
        elif problem.status == 403:
            abort(403)
        return _designer(state, catalogs, row=_posted_report(), errors=errors, code=422)
    session.commit()
    flash(gettext("Report saved."), "success")
    target = url_for("tenant.reports.view", report_id=row.id)
    if htmx:
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


@bp.get("/<uuid:report_id>", endpoint="view")
@login_required
def view(report_id: uuid.UUID) -> Any:
    """A saved report, run under the viewer's data scope and field permissions; its owner
    (or a manager of reports) sees its e-mail schedule, with subscription ``subscription`` in
    the form when asked."""
    row = _report(report_id)
    editing = None
    if saved.can_change(g.user, row) and (wanted := request.args.get("subscription")):
        try:
            editing = schedules.Editing.of(
                subscriptions.get(extension.session(), row, uuid.UUID(wanted))
            )
        except (ValueError, NotFound):
            abort(404)
    return report_page(row, schedules.panel(row, editing) if editing else None)


def report_page(row: Report, schedule: dict[str, Any] | None = None, code: int = 200) -> Any:
    """The page of saved report ``row``: its chart, the export buttons when the viewer may
    export it, and its e-mail schedule when they may change it (``schedule``: the panel as
    posted, else as it is)."""
    catalogs = _catalogs()
    result, drill, problem = None, None, ""
    try:
        result = saved.run(row)
        drill = display.drill_base(row.dataset, row.spec or {})
    except ValidationFailed as failed:
        problem = gettext(failed.message, **failed.params)
    can_change = saved.can_change(g.user, row)
    if can_change and schedule is None:
        schedule = schedules.panel(row)
    return render_template(
        "reports/view.html",
        row=row,
        result=result,
        drill_url=drill,
        problem=problem,
        dataset=_dataset_label(catalogs, row.dataset),
        can_change=can_change,
        can_export=not problem and exportable(row.dataset, row.spec or {}),
        schedule=schedule if can_change else None,
        chart_name=chart_names().get(row.chart_type, row.chart_type),
    ), (422 if problem else code)


@bp.post("/<uuid:report_id>/delete", endpoint="delete")
@login_required
def delete(report_id: uuid.UUID) -> Any:
    session = extension.session()
    row = _report(report_id)
    if not saved.can_change(g.user, row):
        abort(403)
    saved.delete(session, g.user, row)
    session.commit()
    flash(gettext("Report deleted."), "success")
    return redirect(url_for("tenant.reports.index"))


def _posted_report() -> Report | None:
    text = request.form.get("report_id", "")
    if not text:
        return None
    try:
        return _report(uuid.UUID(text))
    except ValueError:
        abort(404)


def _chosen(catalogs: list[Catalog], key: str) -> Catalog | None:
    return next((c for c in catalogs if c.dataset.key == key), None)


def _dataset_label(catalogs: list[Catalog], key: str) -> str:
    chosen = _chosen(catalogs, key)
    return chosen.dataset.label(display.locale()) if chosen else key


def _designer(
    state: designer.State,
    catalogs: list[Catalog],
    row: Report | None = None,
    errors: dict[str, list[str]] | None = None,
    code: int = 200,
) -> Any:
    """The designer page (or, to htmx, the designer alone) with the report run when it can
    be."""
    errors = dict(errors or {})
    catalog = _chosen(catalogs, state.dataset)
    result, drill = None, None
    if catalog is None:
        errors.setdefault("dataset", []).append(gettext("Choose a dataset."))
    elif state.ready:
        try:
            result = service.run(state.spec())
            drill = display.drill_base(state.dataset, state.spec())
        except ValidationFailed as problem:
            for key, found in designer.field_errors(problem.errors or {}).items():
                known = errors.setdefault(key, [])
                known.extend(m for m in found if m not in known)
            code = 422
    described = catalog.describe() if catalog else None
    placed = {"dataset", "dimensions", "measures", "filter", "sort", "limit", "chart_type"}
    placed |= {"name", "description", "shared_with_roles"}
    context = {
        "state": state,
        "dimension_info": {d["key"]: d for d in described["dimensions"]} if described else {},
        "measure_info": {m["key"]: m for m in described["measures"]} if described else {},
        "filter_info": {f["key"]: f for f in described["filters"]} if described else {},
        "other_errors": [
            m for k, found in errors.items() if k.split(".")[0] not in placed for m in found
        ],
        "operators": OPERATORS,
        "no_value": NO_VALUE,
        "catalogs": catalogs,
        "catalog": described,
        "row": row,
        "errors": errors,
        "result": result,
        "drill_url": drill,
        "roles": _roles(),
        "chart_names": chart_names(),
        "max_dimensions": MAX_DIMENSIONS,
        "max_limit": MAX_LIMIT,
        "name_length": NAME_LENGTH,
        "locale": display.locale(),
    }
    if htmx and request.headers.get("HX-Target") == TARGET:
        return render_template("reports/_designer.html", **context), code
    return render_template("reports/designer.html", **context), code


def _roles() -> list[tuple[str, str]]:
    loc = display.locale()
    rows = extension.session().scalars(select(Role).order_by(Role.key))
    return [(r.key, r.name(loc)) for r in rows]


def chart_names() -> dict[str, str]:
    names = {
        "table": gettext("Table"),
        "pivot": gettext("Pivot table"),
        "line": gettext("Line chart"),
        "bar": gettext("Bar chart"),
        "stacked_bar": gettext("Stacked bar chart"),
        "pie": gettext("Pie chart"),
        "funnel": gettext("Funnel"),
        "number": gettext("Number card"),
        "map": gettext("Map by province"),
    }
    return {key: names.get(key, key) for key in CHART_TYPES}
