"""Dashboards (仪表盘): saved reports on a 12-column grid, with global filters (date range,
product, org unit, channel), an auto-refresh interval for a wall display, and a default
dashboard per role.

A staff member sees their own dashboards, those shared with one of their roles, the default
of one of their roles, and with ``reports.manage`` all. A dashboard holds questions, never
answers: running it runs each tile's report (``saved.run``) under the viewer's data scope and
field permissions, so two officers get their own numbers from the same dashboard. A tile
fails alone: a report the viewer may not run, or one deleted since (a report's deletion
leaves its tiles, shown as "report deleted", rather than changing dashboards silently), gives
that tile an error, never the whole dashboard nor anyone else's numbers.

A dataset says which global filters narrow it (``Dataset.global_filters``: filter → field);
a chosen filter becomes, per tile, filters in the list syntax (``created_at:ge:2026-01-01``)
added to the report's own, and a tile whose dataset does not support it runs without it and
names it in ``unfiltered``, so the screen can say so.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from loandesk.fields.validation import message
from loandesk.i18n import N_
from loandesk.plugins import runtime as plugin_runtime
from loandesk.rbac.models import OrgUnit, Role
from loandesk.rbac.org import Tree
from loandesk.reports import saved
from loandesk.reports.dashboard_models import Dashboard, RoleDashboard
from loandesk.reports.datasets import GLOBAL_FILTERS, Dataset
from loandesk.reports.models import Report

MANAGE = saved.MANAGE
COLUMNS = 12  # the grid's width
MAX_TILES = 40
MAX_HEIGHT = 24
MAX_ROW = 500
REFRESH_RANGE = (30, 86400)  # seconds: a wall display reloads at most every 30 seconds
PROBLEMS = N_("Some dashboard settings need attention.")
_TILE_KEYS = ("x", "y", "w", "h")


@dataclass(frozen=True)
class GlobalFilters:
    """The global filter values a dashboard is run with; none chosen narrows nothing."""

    date_from: date | None = None
    date_to: date | None = None
    product: str | None = None
    org_unit: uuid.UUID | None = None
    channel: str | None = None

    def chosen(self) -> list[str]:
        dated = self.date_from is not None or self.date_to is not None
        values = {"date": dated, "product": self.product, "org_unit": self.org_unit}
        values["channel"] = self.channel
        return [kind for kind in GLOBAL_FILTERS if values[kind]]


# --- who sees what ------------------------------------------------------------------------


def default_ids(session: Session, user: Any) -> set[uuid.UUID]:
    """The dashboards that are the default of one of ``user``'s roles."""
    role_ids = [role.id for role in user.roles]
    query = select(RoleDashboard.dashboard_id).where(RoleDashboard.role_id.in_(role_ids))
    return set(session.scalars(query))


def can_see(user: Any, row: Dashboard, defaults: Iterable[uuid.UUID] = ()) -> bool:
    """The owner, a holder of a role it is shared with or is the default of (``defaults``:
    ``default_ids``), or a manager of reports."""
    if row.owner_id == user.id or user.can(MANAGE) or row.id in set(defaults):
        return True
    return bool({role.key for role in user.roles} & set(row.shared_with_roles or ()))


def list_dashboards(session: Session, user: Any) -> list[Dashboard]:
    """The dashboards ``user`` may see, by name."""
    defaults = default_ids(session, user)
    rows = session.scalars(select(Dashboard).order_by(Dashboard.name))
    return [row for row in rows if can_see(user, row, defaults)]


def get(session: Session, user: Any, dashboard_id: uuid.UUID) -> Dashboard:
    """Dashboard ``dashboard_id``; 404 when there is none or ``user`` may not see it."""
    row = session.scalar(select(Dashboard).where(Dashboard.id == dashboard_id))
    if row is None or not can_see(user, row, default_ids(session, user)):
        raise NotFound(N_("No such dashboard."))
    return row


# --- changes ------------------------------------------------------------------------------


def create(session: Session, user: Any, data: Mapping[str, Any]) -> Dashboard:
    """A dashboard of ``user``'s, its tiles naming reports they may see; audited."""
    values = checked(session, data, _usable(session, user))
    return store(session, None, {**values, "owner_id": user.id})


def update(session: Session, user: Any, row: Dashboard, data: Mapping[str, Any]) -> Dashboard:
    """Replace the dashboard (its owner or a manager of reports; its version grows); audited."""
    _may_change(user, row)
    return store(session, row, checked(session, data, _usable(session, user)))


def store(session: Session, row: Dashboard | None, values: Mapping[str, Any]) -> Dashboard:
    """Create (``row`` None) or change a dashboard to ``values`` (from ``checked``, with the
    ``owner_id`` of a new one); 409 when another has its name; audited."""
    taken = select(Dashboard.id).where(Dashboard.name == values["name"])
    if row is not None:
        taken = taken.where(Dashboard.id != row.id)
    if session.scalar(taken) is not None:
        raise Conflict(N_("A dashboard with this name exists already."))
    if row is None:
        row = Dashboard(version=1, **values)
        session.add(row)
        session.flush()
        audit.record(session, "dashboard.create", "dashboard", row.id, _audited(row))
        return row
    before = _audited(row)
    for key, value in values.items():
        setattr(row, key, value)
    row.version += 1
    session.flush()
    diff = audit.changes(before, _audited(row))
    audit.record(session, "dashboard.update", "dashboard", row.id, diff)
    return row


def delete(session: Session, user: Any, row: Dashboard) -> None:
    """Delete the dashboard (its owner or a manager of reports) and the role defaults it is;
    audited."""
    _may_change(user, row)
    audit.record(session, "dashboard.delete", "dashboard", row.id, _audited(row))
    session.execute(sql_delete(RoleDashboard).where(RoleDashboard.dashboard_id == row.id))
    session.delete(row)
    session.flush()


def checked(
    session: Session, data: Mapping[str, Any], reports: Mapping[uuid.UUID, Report]
) -> dict[str, Any]:
    """The dashboard's columns from ``data``, its tiles naming ``reports`` (those its author
    may see); 422 naming every problem (``name``, ``tiles.0.report_id``, ``tiles.1``, …)."""
    errors: dict[str, list[str]] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = [message(N_("A dashboard needs a name."))]
    tiles = _tiles(list(data.get("tiles") or []), reports, errors)
    filters = list(dict.fromkeys(data.get("filters") or ()))
    unknown = [f for f in filters if f not in GLOBAL_FILTERS]
    if unknown:
        choices = ", ".join(GLOBAL_FILTERS)
        errors["filters"] = [message(N_("One of %(choices)s."), choices=choices)]
    refresh = data.get("refresh_seconds")
    if refresh is not None and not REFRESH_RANGE[0] <= refresh <= REFRESH_RANGE[1]:
        low, high = REFRESH_RANGE
        errors["refresh_seconds"] = [
            message(N_("No refresh, or every %(low)s to %(high)s seconds."), low=low, high=high)
        ]
    roles = sorted(set(data.get("shared_with_roles") or ()))
    known = set(session.scalars(select(Role.key).where(Role.key.in_(roles))))
    if missing := [key for key in roles if key not in known]:
        errors["shared_with_roles"] = [message(N_("No role %(key)s."), key=", ".join(missing))]
    if errors:
        raise ValidationFailed(PROBLEMS, errors=errors)
    return {
        "name": name,
        "description": data.get("description") or "",
        "tiles": tiles,
        "filters": [f for f in GLOBAL_FILTERS if f in filters],
        "refresh_seconds": refresh,
        "shared_with_roles": roles,
    }


def _tiles(
    items: list[Any], reports: Mapping[uuid.UUID, Report], errors: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """Tiles on the grid: inside its 12 columns, not overlapping, each naming a report."""
    if len(items) > MAX_TILES:
        errors["tiles"] = [message(N_("At most %(count)s tiles."), count=MAX_TILES)]
        return []
    found: list[dict[str, Any]] = []
    taken: dict[tuple[int, int], int] = {}
    for index, item in enumerate(items):
        where = f"tiles.{index}"
        report_id = _uuid(item.get("report_id"))
        if report_id is None or report_id not in reports:
            errors[f"{where}.report_id"] = [message(N_("No such report."))]
        x, y, w, h = (item.get(k) for k in _TILE_KEYS)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (x, y, w, h)):
            errors[where] = [message(N_("A tile needs whole numbers x, y, w and h."))]
            continue
        if x < 0 or w < 1 or x + w > COLUMNS or not 0 <= y <= MAX_ROW or not 1 <= h <= MAX_HEIGHT:
            errors[where] = [message(N_("A tile must lie within the grid's 12 columns."))]
            continue
        cells = [(col, row) for col in range(x, x + w) for row in range(y, y + h)]
        if clash := next((taken[c] for c in cells if c in taken), None):
            errors[where] = [message(N_("This tile overlaps tile %(number)s."), number=clash)]
            continue
        taken.update(dict.fromkeys(cells, index + 1))
        found.append({"report_id": str(report_id), "x": x, "y": y, "w": w, "h": h})
    return sorted(found, key=lambda t: (t["y"], t["x"]))


def _usable(session: Session, user: Any) -> dict[uuid.UUID, Report]:
    return {report.id: report for report in saved.list_reports(session, user)}


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def _may_change(user: Any, row: Dashboard) -> None:
    if row.owner_id != user.id and not user.can(MANAGE):
        raise Forbidden(
            N_("Only the dashboard's owner, or who holds %(permission)s, may change it."),
            params={"permission": MANAGE},
        )


def _audited(row: Dashboard) -> dict[str, Any]:
    return {
        "name": row.name,
        "description": row.description,
        "tiles": row.tiles,
        "filters": row.filters,
        "refresh_seconds": row.refresh_seconds,
        "shared_with_roles": row.shared_with_roles,
        "owner_id": str(row.owner_id),
    }


# --- running ------------------------------------------------------------------------------


def run(session: Session, user: Any, row: Dashboard, chosen: GlobalFilters) -> dict[str, Any]:
    """Each tile's report run for ``user`` (``saved.run``) with the global filters its
    dataset supports: per tile ``result``, or ``error`` (a ``DomainError``) when it cannot
    run for them; ``unfiltered``: the chosen filters its dataset does not support;
    ``filters``: the list filters it ran with (its report's and the global ones), which is
    what a drill-down from the tile must show."""
    units = _checked_filters(session, row, chosen)
    datasets: dict[str, Dataset] = plugin_runtime.report_datasets()
    ids = [i for i in (_uuid(tile["report_id"]) for tile in row.tiles) if i is not None]
    reports = {r.id: r for r in session.scalars(select(Report).where(Report.id.in_(ids)))}
    tiles = []
    for tile in row.tiles:
        entry: dict[str, Any] = {**tile, "unfiltered": []}
        report = reports.get(_uuid(tile["report_id"]) or uuid.UUID(int=0))
        if report is None:
            entry["error"] = NotFound(N_("The report of this tile was deleted."))
        elif not saved.can_see(user, report):
            entry["error"] = Forbidden(N_("The report of this tile is not shared with you."))
        else:
            entry |= {"name": report.name, "chart_type": report.chart_type}
            dataset = datasets.get(report.dataset)
            supported = dict(dataset.global_filters) if dataset is not None else {}
            entry["unfiltered"] = [k for k in chosen.chosen() if k not in supported]
            added = _filters(chosen, supported, units)
            narrowed = Report(
                name=report.name,
                dataset=report.dataset,
                spec={**report.spec, "filters": [*report.spec.get("filters", []), *added]},
            )
            entry["filters"] = narrowed.spec["filters"]
            try:
                entry["result"] = saved.run(narrowed)
            except DomainError as error:
                entry["error"] = error
        tiles.append(entry)
    return {"id": row.id, "name": row.name, "tiles": tiles}


def _checked_filters(session: Session, row: Dashboard, chosen: GlobalFilters) -> list[str]:
    """422 when a value is given for a filter the dashboard does not offer, or the dates are
    the wrong way round; the ids of the chosen org unit and every unit below it."""
    errors: dict[str, list[str]] = {}
    for kind in chosen.chosen():
        if kind not in row.filters:
            where = "date_from" if kind == "date" else kind
            errors[where] = [message(N_("This dashboard has no %(filter)s filter."), filter=kind)]
    if chosen.date_from and chosen.date_to and chosen.date_from > chosen.date_to:
        errors["date_to"] = [message(N_("The end date comes before the start date."))]
    units: list[str] = []
    if chosen.org_unit is not None:
        if session.scalar(select(OrgUnit.id).where(OrgUnit.id == chosen.org_unit)) is None:
            errors["org_unit"] = [message(N_("No such org unit."))]
        else:
            units = sorted(str(u) for u in Tree.load(session).subtree(chosen.org_unit))
    if errors:
        raise ValidationFailed(PROBLEMS, errors=errors)
    return units


def _filters(chosen: GlobalFilters, fields: Mapping[str, str], units: list[str]) -> list[str]:
    """The list filters (``key:op:value``) the chosen global filters add to a report over a
    dataset whose global filters are ``fields``. A date range covers whole local days: a
    datetime typed as a date is midnight in the tenant's time zone."""
    added: list[str] = []
    if "date" in fields:
        if chosen.date_from is not None:
            added.append(f"{fields['date']}:ge:{chosen.date_from.isoformat()}")
        if chosen.date_to is not None:
            added.append(f"{fields['date']}:lt:{(chosen.date_to + timedelta(1)).isoformat()}")
    if "org_unit" in fields and units:
        added.append(f"{fields['org_unit']}:in:{','.join(units)}")
    for kind, value in (("product", chosen.product), ("channel", chosen.channel)):
        if kind in fields and value:
            added.append(f"{fields[kind]}:eq:{value}")
    return added


# --- defaults per role --------------------------------------------------------------------


def default_for(session: Session, user: Any) -> Dashboard | None:
    """The default dashboard of ``user``'s roles; with several, that of the role whose key
    comes first."""
    role_ids = [role.id for role in user.roles]
    query = (
        select(Dashboard)
        .join(RoleDashboard, RoleDashboard.dashboard_id == Dashboard.id)
        .join(Role, Role.id == RoleDashboard.role_id)
        .where(RoleDashboard.role_id.in_(role_ids))
        .order_by(Role.key)
        .limit(1)
    )
    return session.scalar(query)


def role_defaults(session: Session) -> list[tuple[Role, Dashboard]]:
    """Every role's default dashboard, by role key."""
    query = (
        select(Role, Dashboard)
        .join(RoleDashboard, RoleDashboard.role_id == Role.id)
        .join(Dashboard, Dashboard.id == RoleDashboard.dashboard_id)
        .order_by(Role.key)
    )
    return [(role, dashboard) for role, dashboard in session.execute(query)]


def set_default(session: Session, user: Any, role_key: str, dashboard_id: uuid.UUID | None) -> None:
    """Make dashboard ``dashboard_id`` the default of role ``role_key`` (None: it has none);
    needs ``reports.manage``; audited."""
    if not user.can(MANAGE):
        raise Forbidden(
            N_("Choosing a role's default dashboard needs %(permission)s."),
            params={"permission": MANAGE},
        )
    role = session.scalar(select(Role).where(Role.key == role_key))
    if role is None:
        raise NotFound(N_("No such role."))
    assign(session, role, None if dashboard_id is None else get(session, user, dashboard_id))


def assign(session: Session, role: Role, row: Dashboard | None) -> None:
    """Make ``row`` the default dashboard of ``role`` (None: it has none); audited when it
    changes."""
    current = session.scalar(select(RoleDashboard).where(RoleDashboard.role_id == role.id))
    if (current.dashboard_id if current else None) == (row.id if row else None):
        return
    before = _name_of(session, current.dashboard_id) if current else None
    if current is not None and row is None:
        session.delete(current)
    elif current is not None and row is not None:
        current.dashboard_id = row.id
    elif row is not None:
        session.add(RoleDashboard(role_id=role.id, dashboard_id=row.id))
    session.flush()
    diff = {"role": role.key, "dashboard": [before, row.name if row else None]}
    audit.record(session, "dashboard.default", "role", role.id, diff)


def _name_of(session: Session, dashboard_id: uuid.UUID) -> str | None:
    return session.scalar(select(Dashboard.name).where(Dashboard.id == dashboard_id))
