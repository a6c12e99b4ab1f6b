"""Saved reports and dashboards in a bundle: ``reports.yaml`` (the reports by name) and
``dashboards.yaml`` (the dashboards by name, and each role's default dashboard); see
tenants/README.md.

Everything is named so that the files apply to another tenant or install: a report's and a
dashboard's owner by e-mail, a tile's report by its name, a role by its key. An owner who is
not an active staff member of the target tenant is replaced by its first tenant admin (a
report is nobody's otherwise), so a bundle carries reports from one firm to a fresh one.
Only reports over the datasets of the enabled plugins are exported; a tile whose report was
deleted (or is not exported) is left out.

Checking the whole bundle finds what needs no query (names used twice, a dataset no enabled
plugin brings, roles and reports that exist neither in the bundle nor in the tenant). Each
report's spec is then compiled as the report engine would, against its dataset with every
field in view (there is no acting staff member: who may run it is decided when it is run),
after the bundle's own fields are applied; when any report has problems none is saved. A
report or dashboard that differs is updated (its version grows), a new one created; those
the files do not name are left as they are, and so is the default of a role they do not name.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.auth import users
from loandesk.auth.models import User
from loandesk.bundle.model import BundleInvalid
from loandesk.errors import ValidationFailed
from loandesk.fields.forms import published_form
from loandesk.fields.values import Context
from loandesk.plugins.host import PluginHost
from loandesk.rbac import service as rbac
from loandesk.rbac.access import RecordAccess
from loandesk.rbac.catalog import ADMIN_ROLE
from loandesk.rbac.models import Role, UserRole
from loandesk.reports import dashboards, saved
from loandesk.reports.catalog import Catalog
from loandesk.reports.dashboard_models import Dashboard
from loandesk.reports.models import Report
from loandesk.reports.query import QueryContext, compile_report

Change = Callable[..., Any]  # ``_Run.change``: (file, path, summary, do, *args, **kw)
REPORTS = "reports.yaml"
DASHBOARDS = "dashboards.yaml"
SPEC_KEYS = ("dimensions", "measures", "filters", "sort", "limit")


# --- export -------------------------------------------------------------------------------


def export_files(
    session: Session, host: PluginHost, enabled: frozenset[str]
) -> dict[str, dict[str, Any]]:
    """``reports.yaml`` and ``dashboards.yaml``."""
    datasets = {d.key for d in host.report_datasets(sorted(enabled))}
    emails = {user_id: email for user_id, email in session.execute(select(User.id, User.email))}
    reports = [r for r in session.scalars(select(Report).order_by(Report.name))]
    names = {r.id: r.name for r in reports if r.dataset in datasets}
    return {
        REPORTS: {
            "reports": [
                {
                    "name": r.name,
                    "description": r.description,
                    "dataset": r.dataset,
                    "spec": {k: r.spec[k] for k in SPEC_KEYS if k in r.spec},
                    "chart_type": r.chart_type,
                    "shared_with_roles": list(r.shared_with_roles),
                    "owner": emails.get(r.owner_id),
                }
                for r in reports
                if r.id in names
            ]
        },
        DASHBOARDS: _dashboards_file(session, names, emails),
    }


def _dashboards_file(
    session: Session, names: Mapping[uuid.UUID, str], emails: Mapping[uuid.UUID, str]
) -> dict[str, Any]:
    found = []
    for row in session.scalars(select(Dashboard).order_by(Dashboard.name)):
        tiles = [
            {"report": names[report_id], **{k: tile[k] for k in ("x", "y", "w", "h")}}
            for tile in row.tiles
            if (report_id := uuid.UUID(tile["report_id"])) in names
        ]
        found.append(
            {
                "name": row.name,
                "description": row.description,
                "tiles": tiles,
                "filters": list(row.filters),
                "refresh_seconds": row.refresh_seconds,
                "shared_with_roles": list(row.shared_with_roles),
                "owner": emails.get(row.owner_id),
            }
        )
    defaults = {role.key: row.name for role, row in dashboards.role_defaults(session)}
    return {"dashboards": found, "role_defaults": defaults}


# --- check --------------------------------------------------------------------------------


def problems(
    session: Session,
    host: PluginHost,
    enabled: frozenset[str],
    bundle: Mapping[str, Mapping[str, Any]],
) -> Iterator[str]:
    """What is wrong with ``reports.yaml`` and ``dashboards.yaml`` that needs no query: the
    specs themselves are compiled when they are applied (``apply_reports``)."""
    datasets = {d.key for d in host.report_datasets(sorted(enabled))}
    roles = set(session.scalars(select(Role.key)))
    roles |= {r["key"] for r in bundle.get("roles.yaml", {}).get("roles", [])}
    reports = bundle.get(REPORTS, {}).get("reports", [])
    known = set(session.scalars(select(Report.name))) | {r["name"] for r in reports}
    for name in _twice([r["name"] for r in reports]):
        yield f"{REPORTS}: {name}: name: two reports are named {name!r}"
    for report in reports:
        where = f"{REPORTS}: {report['name']}"
        if report["dataset"] not in datasets:
            yield (
                f"{where}: dataset: no dataset {report['dataset']!r}, or its plugin is not enabled"
            )
        yield from _roles(where, report["shared_with_roles"], roles)
    data = bundle.get(DASHBOARDS, {})
    boards = data.get("dashboards", [])
    for name in _twice([d["name"] for d in boards]):
        yield f"{DASHBOARDS}: {name}: name: two dashboards are named {name!r}"
    for board in boards:
        where = f"{DASHBOARDS}: {board['name']}"
        for index, tile in enumerate(board["tiles"]):
            if tile["report"] not in known:
                yield f"{where}: tiles[{index}].report: no report {tile['report']!r}"
        yield from _roles(where, board["shared_with_roles"], roles)
    boards_known = set(session.scalars(select(Dashboard.name))) | {d["name"] for d in boards}
    for key, name in data.get("role_defaults", {}).items():
        if key not in roles:
            yield f"{DASHBOARDS}: role_defaults.{key}: no role {key!r}"
        if name not in boards_known:
            yield f"{DASHBOARDS}: role_defaults.{key}: no dashboard {name!r}"


def _twice(names: list[str]) -> list[str]:
    return sorted({n for n in names if names.count(n) > 1})


def _roles(where: str, keys: list[str], roles: set[str]) -> Iterator[str]:
    for key in keys:
        if key not in roles:
            yield f"{where}: shared_with_roles: no role {key!r}"


# --- apply --------------------------------------------------------------------------------


def apply_reports(
    change: Change,
    session: Session,
    host: PluginHost,
    enabled: frozenset[str],
    where: QueryContext,
    data: Mapping[str, Any],
) -> None:
    """Compile every report's spec against its dataset with every field in view (the
    bundle's fields applied by now), then create the new reports and update those that
    differ, by name; ``BundleInvalid`` naming each report and where, before anything is
    saved, when any spec has problems. ``where``: the tenant's dialect, time zone, keys."""
    datasets = {d.key: d for d in host.report_datasets(sorted(enabled))}
    record_types = {t.key: t for t in host.record_types(sorted(enabled))}
    refused: list[str] = []
    for report in data["reports"]:
        dataset = datasets[report["dataset"]]  # checked before
        record_type = published_form(session, record_types[dataset.record_type]).record_type
        keys = record_type.field_keys
        everything = RecordAccess(
            record_type, uuid.UUID(int=0), "all", dict.fromkeys(keys, "view"), frozenset()
        )
        catalog = Catalog.of(dataset, everything, Context(timezone=where.timezone))
        try:
            compile_report(catalog, report["spec"], where)
        except ValidationFailed as failed:
            found = failed.errors or {"spec": [failed.message]}
            refused += [
                f"{REPORTS}: {report['name']}: spec.{at}: {text}"
                for at, texts in found.items()
                for text in texts
            ]
    if refused:
        raise BundleInvalid(refused)
    rows = {r.name: r for r in session.scalars(select(Report))}
    owner = _owner(session)
    for report in data["reports"]:
        wanted = {
            "description": report["description"],
            "dataset": report["dataset"],
            "spec": {k: report["spec"][k] for k in SPEC_KEYS},
            "chart_type": report["chart_type"],
            "shared_with_roles": sorted(set(report["shared_with_roles"])),
            "owner_id": owner(report["owner"]),
        }
        row = rows.get(report["name"])
        if row is None:
            summary = f"create report over {report['dataset']}"
            change(REPORTS, report["name"], summary, saved.store, session, None,
                   {"name": report["name"], **wanted})  # fmt: skip
        elif differs := [k for k, v in wanted.items() if getattr(row, k) != v]:
            summary = f"update to version {row.version + 1}: {', '.join(differs)}"
            change(REPORTS, report["name"], summary, saved.store, session, row, wanted)


def apply_dashboards(change: Change, session: Session, data: Mapping[str, Any]) -> None:
    """Create or update the dashboards by name (tiles naming the reports by now in the
    tenant), then set the defaults of the roles the file names."""
    reports = {r.id: r for r in session.scalars(select(Report))}
    ids = {r.name: r.id for r in reports.values()}
    rows = {r.name: r for r in session.scalars(select(Dashboard))}
    owner = _owner(session)
    for board in data["dashboards"]:
        tiles = [
            {"report_id": ids[t["report"]], **{k: t[k] for k in ("x", "y", "w", "h")}}
            for t in board["tiles"]
        ]
        try:
            values = dashboards.checked(session, {**board, "tiles": tiles}, reports)
        except ValidationFailed as failed:
            raise BundleInvalid(
                [
                    f"{DASHBOARDS}: {board['name']}: {at}: {text}"
                    for at, texts in failed.errors.items()
                    for text in texts
                ]
            ) from None
        row = rows.get(board["name"])
        if row is None:
            values["owner_id"] = owner(board["owner"])
            summary = f"create dashboard of {len(tiles)} tiles"
            rows[board["name"]] = change(
                DASHBOARDS, board["name"], summary, dashboards.store, session, None, values
            )
            continue
        values["owner_id"] = owner(board["owner"])
        if differs := [k for k, v in values.items() if k != "name" and getattr(row, k) != v]:
            summary = f"update to version {row.version + 1}: {', '.join(differs)}"
            change(DASHBOARDS, board["name"], summary, dashboards.store, session, row, values)
    for key, name in data["role_defaults"].items():
        role = rbac.role_by_key(session, key)
        current = dashboards.role_defaults(session)
        if role is None or (key, name) in {(r.key, d.name) for r, d in current}:
            continue
        change(DASHBOARDS, f"role_defaults.{key}", f"→ {name}", dashboards.assign, session,
               role, rows[name])  # fmt: skip


def _owner(session: Session) -> Callable[[str | None], uuid.UUID]:
    """The id of the active staff member of an e-mail, else of the tenant's first admin."""
    admin = session.scalar(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .join(Role, Role.id == UserRole.role_id)
        .where(Role.key == ADMIN_ROLE, User.status == "active")
        .order_by(User.created_at, User.id)
        .limit(1)
    )

    def owner(email: str | None) -> uuid.UUID:
        found = users.find_by_email(session, email) if email else None
        if found is not None and found.is_active:
            return found.id
        if admin is None:
            raise BundleInvalid([f"{REPORTS}: owner: no active tenant admin to own it"])
        return admin

    return owner
