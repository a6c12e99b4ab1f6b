"""Saved reports in a request: a staff member's own, those shared with one of their roles,
and (with ``reports.manage``) every report of the tenant. A report is checked when saved
against what its author may use, and run under what its viewer may use: two officers who
see only their own applications get their own numbers from the same report, and a viewer
who may not see a field it uses gets a 422 naming the report, never its author's numbers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.errors import Conflict, Forbidden, NotFound, ValidationFailed
from loandesk.fields.validation import message
from loandesk.i18n import N_
from loandesk.rbac.models import Role
from loandesk.reports import service
from loandesk.reports.models import CHART_TYPES, Report
from loandesk.reports.query import REPORT_PROBLEMS

MANAGE = "reports.manage"
SPEC_KEYS = ("dimensions", "measures", "filters", "sort", "limit")


def can_see(user: Any, report: Report) -> bool:
    """The owner, a holder of a role it is shared with, or a manager of reports."""
    if report.owner_id == user.id or user.can(MANAGE):
        return True
    return bool({role.key for role in user.roles} & set(report.shared_with_roles or ()))


def can_change(user: Any, report: Report) -> bool:
    return report.owner_id == user.id or user.can(MANAGE)


def list_reports(session: Session, user: Any) -> list[Report]:
    """The reports ``user`` may see, by name."""
    rows = session.scalars(select(Report).order_by(Report.name))
    return [r for r in rows if can_see(user, r)]


def get(session: Session, user: Any, report_id: uuid.UUID) -> Report:
    """Report ``report_id``; 404 when there is none or ``user`` may not see it."""
    row = session.scalar(select(Report).where(Report.id == report_id))
    if row is None or not can_see(user, row):
        raise NotFound(N_("No such report."))
    return row


def create(session: Session, user: Any, data: Mapping[str, Any]) -> Report:
    """A report of ``user``'s, its spec checked against what they may use; audited."""
    values = _checked(session, data)
    _taken(session, values["name"])
    return store(session, None, {**values, "owner_id": user.id})


def update(session: Session, user: Any, row: Report, data: Mapping[str, Any]) -> Report:
    """Replace the report (its owner or a manager of reports; its version grows); audited."""
    _may_change(user, row)
    values = _checked(session, data)
    _taken(session, values["name"], but=row.id)
    return store(session, row, values)


def store(session: Session, row: Report | None, values: Mapping[str, Any]) -> Report:
    """Write ``values`` (already checked) as a new report (``row`` None: they include
    ``owner_id``) or into ``row`` (its version grows); audited. The API and pages reach it
    through ``create`` / ``update``; a tenant bundle, which has no acting staff member, calls
    it directly after its own checks."""
    if row is None:
        row = Report(version=1, **values)
        session.add(row)
        session.flush()
        audit.record(session, "report.create", "report", row.id, _audited(row))
        return row
    before = _audited(row)
    for key, value in values.items():
        setattr(row, key, value)
    row.version += 1
    session.flush()
    audit.record(session, "report.update", "report", row.id, audit.changes(before, _audited(row)))
    return row


def delete(session: Session, user: Any, row: Report) -> None:
    """Delete the report (its owner or a manager of reports); audited."""
    _may_change(user, row)
    audit.record(session, "report.delete", "report", row.id, _audited(row))
    session.delete(row)
    session.flush()


def run(row: Report) -> dict[str, Any]:
    """The report's rows for the acting staff member, under their data scope and field
    permissions; 422 naming the report when it uses what they may not use."""
    try:
        return service.run({"dataset": row.dataset, **row.spec})
    except ValidationFailed as problem:
        raise ValidationFailed(
            N_("The report %(name)s uses data you may not see; ask its owner."),
            errors=_under_spec(problem.errors),
            params={"name": row.name},
        ) from None


def _checked(session: Session, data: Mapping[str, Any]) -> dict[str, Any]:
    """The report's columns from ``data``; 422 naming every problem, the spec's keyed
    ``spec.dimensions.0`` and so on."""
    errors: dict[str, list[str]] = {}
    if not data["name"].strip():
        errors["name"] = [message(N_("A report needs a name."))]
    spec = {k: data["spec"][k] for k in SPEC_KEYS if k in data["spec"]}
    try:
        service.check({"dataset": data["dataset"], **spec})
    except ValidationFailed as problem:
        errors.update(_under_spec(problem.errors))
    if data["chart_type"] not in CHART_TYPES:
        errors["chart_type"] = [message(N_("One of %(choices)s."), choices=", ".join(CHART_TYPES))]
    roles = sorted(set(data.get("shared_with_roles") or ()))
    known = set(session.scalars(select(Role.key).where(Role.key.in_(roles))))
    unknown = [key for key in roles if key not in known]
    if unknown:
        errors["shared_with_roles"] = [message(N_("No role %(key)s."), key=", ".join(unknown))]
    if errors:
        raise ValidationFailed(REPORT_PROBLEMS, errors=errors)
    return {
        "name": data["name"].strip(),
        "description": data.get("description") or "",
        "dataset": data["dataset"],
        "spec": spec,
        "chart_type": data["chart_type"],
        "shared_with_roles": roles,
    }


def _under_spec(errors: Mapping[str, list[str]]) -> dict[str, list[str]]:
    return {key if key == "dataset" else f"spec.{key}": list(v) for key, v in errors.items()}


def _taken(session: Session, name: str, but: uuid.UUID | None = None) -> None:
    query = select(Report.id).where(Report.name == name.strip())
    if but is not None:
        query = query.where(Report.id != but)
    if session.scalar(query) is not None:
        raise Conflict(N_("A report with this name exists already."))


def _may_change(user: Any, row: Report) -> None:
    if not can_change(user, row):
        raise Forbidden(
            N_("Only the report's owner, or who holds %(permission)s, may change it."),
            params={"permission": MANAGE},
        )


def _audited(row: Report) -> dict[str, Any]:
    return {
        "name": row.name,
        "description": row.description,
        "dataset": row.dataset,
        "spec": row.spec,
        "chart_type": row.chart_type,
        "shared_with_roles": row.shared_with_roles,
        "owner_id": str(row.owner_id),
    }
