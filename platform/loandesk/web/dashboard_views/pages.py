"""The pages: the dashboards a staff member may see, one dashboard run under its viewer's
access with the global filters in the query string (so a filtered dashboard's URL can be
shared; htmx re-renders the filters and the grid, and polls the grid when the dashboard
refreshes itself), a wall display (``?wall=1``), the editor, delete, and each role's
default dashboard."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select

from loandesk import extension
from loandesk.errors import DomainError, NotFound, ValidationFailed
from loandesk.rbac import org
from loandesk.rbac.models import Role
from loandesk.reports import dashboards, saved
from loandesk.reports.dashboard_models import NAME_LENGTH, Dashboard
from loandesk.reports.datasets import GLOBAL_FILTERS
from loandesk.web.auth_views import login_required
from loandesk.web.dashboard_views import bp, layout
from loandesk.web.htmx import htmx
from loandesk.web.paging import page_asked
from loandesk.web.report_views import can_report, display

PER_PAGE = 20
BODY = "dashboard-body"  # the filters and the grid, which the filter form re-renders
GRID = "dashboard-grid"  # the grid alone, which polls itself (taking it from the body)
FILTER_ARGS = ("date_from", "date_to", "product", "org_unit", "channel")


def _may_report() -> None:
    if not can_report(g.user):
        abort(403)


def _dashboard(dashboard_id: uuid.UUID) -> Dashboard:
    try:
        return dashboards.get(extension.session(), g.user, dashboard_id)
    except NotFound:
        abort(404)


def can_change(user: Any, row: Dashboard) -> bool:
    return bool(row.owner_id == user.id or user.can(dashboards.MANAGE))


@bp.get("", endpoint="index")
@login_required
def index() -> Any:
    _may_report()
    session = extension.session()
    rows = dashboards.list_dashboards(session, g.user)
    page = page_asked()
    default = dashboards.default_for(session, g.user)
    return render_template(
        "dashboards/index.html",
        rows=rows[(page - 1) * PER_PAGE : page * PER_PAGE],
        result={"page": page, "per_page": PER_PAGE, "total": len(rows)},
        default_id=default.id if default else None,
        can_change=lambda row: can_change(g.user, row),
        can_manage=g.user.can(dashboards.MANAGE),
    )


# --- one dashboard ------------------------------------------------------------------------


@bp.get("/<uuid:dashboard_id>", endpoint="view")
@login_required
def view(dashboard_id: uuid.UUID) -> Any:
    """The dashboard run for the viewer with the filters of the query string; to htmx, the
    filters and the grid alone."""
    _may_report()
    row = _dashboard(dashboard_id)
    values = {k: request.args.get(k, "").strip() for k in FILTER_ARGS}
    chosen, errors = parsed_filters(values)
    ran: dict[str, Any] | None = None
    if not errors:
        try:
            ran = dashboards.run(extension.session(), g.user, row, chosen)
        except ValidationFailed as failed:
            errors = {k: list(v) for k, v in failed.errors.items()}
    wall = request.args.get("wall") == "1"
    query: dict[str, Any] = {k: v for k, v in values.items() if v}
    context = {
        "row": row,
        "tiles": [_tile(t) for t in ran["tiles"]] if ran else [],
        "values": values,
        "errors": errors,
        "filter_names": filter_names(),
        "units": _unit_options() if "org_unit" in row.filters else [],
        "wall": wall,
        "query": query,
        "refresh_url": url_for("tenant.dashboards.view", dashboard_id=row.id, **query),
        "wall_url": url_for("tenant.dashboards.view", dashboard_id=row.id, wall=1, **query),
        "can_change": can_change(g.user, row),
    }
    code = 422 if errors else 200
    if htmx and request.headers.get("HX-Target") in (BODY, GRID):
        return render_template("dashboards/_body.html", **context), code
    page = "dashboards/wall.html" if wall else "dashboards/view.html"
    return render_template(page, **context), code


def parsed_filters(values: dict[str, str]) -> tuple[dashboards.GlobalFilters, dict[str, list[str]]]:
    """The global filters of the query string's text; problems of form by field."""
    errors: dict[str, list[str]] = {}
    days: dict[str, date | None] = {}
    for key in ("date_from", "date_to"):
        days[key] = None
        if values[key]:
            try:
                days[key] = date.fromisoformat(values[key])
            except ValueError:
                errors[key] = [gettext("Enter a date as YYYY-MM-DD.")]
    unit: uuid.UUID | None = None
    if values["org_unit"]:
        try:
            unit = uuid.UUID(values["org_unit"])
        except ValueError:
            errors["org_unit"] = [gettext("No such org unit.")]
    chosen = dashboards.GlobalFilters(
        date_from=days["date_from"],
        date_to=days["date_to"],
        product=values["product"] or None,
        org_unit=unit,
        channel=values["channel"] or None,
    )
    return chosen, errors


def _tile(entry: dict[str, Any]) -> dict[str, Any]:
    """A tile as the grid shows it: its error as text, and the filters it ignores named."""
    error = entry.get("error")
    names = filter_names()
    return {
        **entry,
        "problem": gettext(error.message, **error.params) if error is not None else "",
        "unfiltered_names": [names.get(k, k) for k in entry.get("unfiltered", [])],
    }


def filter_names() -> dict[str, str]:
    names = {
        "date": gettext("Date"),
        "product": gettext("Product"),
        "org_unit": gettext("Org unit"),
        "channel": gettext("Channel"),
    }
    return {key: names.get(key, key) for key in GLOBAL_FILTERS}


def _unit_options() -> list[tuple[str, str]]:
    """Every org unit, indented under its parent."""
    return [
        (str(unit.id), "\u3000" * depth + unit.name)
        for depth, unit in org.Tree.load(extension.session()).walk()
    ]


# --- the editor ---------------------------------------------------------------------------


@bp.get("/new", endpoint="new")
@login_required
def new() -> Any:
    _may_report()
    return _editor(layout.State())


@bp.post("/new", endpoint="create")
@login_required
def create() -> Any:
    _may_report()
    return _posted(None)


@bp.get("/<uuid:dashboard_id>/edit", endpoint="edit")
@login_required
def edit(dashboard_id: uuid.UUID) -> Any:
    _may_report()
    row = _changeable(dashboard_id)
    return _editor(layout.of_dashboard(row), row=row)


@bp.post("/<uuid:dashboard_id>/edit", endpoint="update")
@login_required
def update(dashboard_id: uuid.UUID) -> Any:
    _may_report()
    return _posted(_changeable(dashboard_id))


@bp.post("/<uuid:dashboard_id>/delete", endpoint="delete")
@login_required
def delete(dashboard_id: uuid.UUID) -> Any:
    session = extension.session()
    row = _changeable(dashboard_id)
    dashboards.delete(session, g.user, row)
    session.commit()
    flash(gettext("Dashboard deleted."), "success")
    return redirect(url_for("tenant.dashboards.index"))


def _changeable(dashboard_id: uuid.UUID) -> Dashboard:
    row = _dashboard(dashboard_id)
    if not can_change(g.user, row):
        abort(403)
    return row


def _posted(row: Dashboard | None) -> Any:
    """The editor again after a button changed the form, or the dashboard saved (then shown)."""
    state = layout.posted(request.form)
    if layout.changing(request.form):
        return _editor(state, row=row)
    session = extension.session()
    try:
        if row is None:
            row = dashboards.create(session, g.user, state.saved())
        else:
            row = dashboards.update(session, g.user, row, state.saved())
    except DomainError as problem:
        session.rollback()
        if problem.status == 403:
            abort(403)
        errors = layout.field_errors(problem.errors)
        if problem.status == 409:
            errors.setdefault("name", []).append(gettext(problem.message, **problem.params))
        if row is not None:
            row = _dashboard(row.id)
        return _editor(state, row=row, errors=errors, code=422)
    session.commit()
    flash(gettext("Dashboard saved."), "success")
    target = url_for("tenant.dashboards.view", dashboard_id=row.id)
    if htmx:
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def _editor(
    state: layout.State,
    row: Dashboard | None = None,
    errors: dict[str, list[str]] | None = None,
    code: int = 200,
) -> Any:
    session = extension.session()
    reports = saved.list_reports(session, g.user)
    names = {str(r.id): r.name for r in reports}
    placed = {"name", "description", "tiles", "filters", "refresh_seconds", "shared_with_roles"}
    errors = dict(errors or {})
    tiles = [
        {"index": i, "tile": t, "name": names.get(t.report_id), "errors": errors.get(f"tiles.{i}")}
        for i, t in enumerate(state.tiles)
    ]
    return render_template(
        "dashboards/editor.html",
        state=state,
        row=row,
        tiles=tiles,
        reports=reports,
        errors=errors,
        other_errors=[
            m
            for k, found in errors.items()
            if k not in placed and not k.startswith("tiles.")
            for m in found
        ],
        filter_names=filter_names(),
        refresh_choices=_refresh_choices(),
        roles=_roles(),
        widths=layout.WIDTHS,
        heights=layout.HEIGHTS,
        name_length=NAME_LENGTH,
    ), code


def _refresh_choices() -> list[tuple[str, str]]:
    names = {
        None: gettext("No auto-refresh"),
        30: gettext("Every 30 seconds"),
        60: gettext("Every minute"),
        300: gettext("Every 5 minutes"),
        900: gettext("Every 15 minutes"),
    }
    return [("" if s is None else str(s), names[s]) for s in layout.REFRESH_CHOICES]


def _roles() -> list[tuple[str, str]]:
    loc = display.locale()
    rows = extension.session().scalars(select(Role).order_by(Role.key))
    return [(r.key, r.name(loc)) for r in rows]


# --- each role's default ------------------------------------------------------------------


@bp.route("/role-defaults", methods=["GET", "POST"], endpoint="role_defaults")
@login_required
def role_defaults() -> Any:
    """Each role with the dashboard its holders open by default (``reports.manage``)."""
    if not g.user.can(dashboards.MANAGE):
        abort(403)
    session = extension.session()
    roles = list(session.scalars(select(Role).order_by(Role.key)))
    choices = dashboards.list_dashboards(session, g.user)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        known = {str(d.id) for d in choices}
        for role in roles:
            text = request.form.get(f"role-{role.key}", "")
            if text and text not in known:
                errors[role.key] = [gettext("No such dashboard.")]
                continue
            dashboards.set_default(session, g.user, role.key, uuid.UUID(text) if text else None)
        if not errors:
            session.commit()
            flash(gettext("Default dashboards saved."), "success")
            return redirect(url_for("tenant.dashboards.role_defaults"))
        session.rollback()
    current = {role.key: str(row.id) for role, row in dashboards.role_defaults(session)}
    if request.method == "POST":
        current = {r.key: request.form.get(f"role-{r.key}", "") for r in roles}
    loc = display.locale()
    return render_template(
        "dashboards/role_defaults.html",
        roles=[(r.key, r.name(loc)) for r in roles],
        choices=[(str(d.id), d.name) for d in choices],
        current=current,
        errors=errors,
    ), (422 if errors else 200)


def default_dashboard(user: Any) -> Dashboard | None:
    """The home page's link: the default dashboard of ``user``'s roles (one query)."""
    return dashboards.default_for(extension.session(), user)
