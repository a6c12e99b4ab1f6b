"""Plans: the platform operator decides which plugins the tenants of each plan may enable."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from loandesk.errors import Conflict, NotFound, ValidationFailed
from loandesk.i18n import N_
from loandesk.tenancy.models import Plan, Tenant
from loandesk.tenancy.service import SLUG_PATTERN


def available_plugins(session: Session, tenant_id: uuid.UUID) -> frozenset[str] | None:
    """The plugins the tenant's plan allows; None when it has no plan (all are allowed)."""
    plugins = session.execute(
        select(Plan.plugins).join(Tenant, Tenant.plan_id == Plan.id).where(Tenant.id == tenant_id)
    ).scalar_one_or_none()
    return None if plugins is None else frozenset(plugins)


def get(session: Session, name: str) -> Plan:
    plan = session.scalar(select(Plan).where(Plan.name == name))
    if plan is None:
        raise NotFound(N_("No such plan."))
    return plan


def list_plans(session: Session) -> list[Plan]:
    return list(session.scalars(select(Plan).order_by(Plan.name)))


def save(
    session: Session, *, name: str, title: str, plugins: Iterable[str], installed: Iterable[str]
) -> Plan:
    """Create plan ``name`` or change its title and plugins; tenants on it see the change at
    once (their enabled plugins outside the plan stop working)."""
    plugins = sorted(set(plugins))
    errors: dict[str, list[str]] = {}
    if not SLUG_PATTERN.match(name) or len(name) > 40:
        errors["name"] = [N_("Use lowercase letters, digits and single hyphens.")]
    if not title.strip():
        errors["title"] = [N_("Enter a title.")]
    unknown = sorted(set(plugins) - set(installed))
    if unknown:
        errors["plugins"] = [N_("Not installed: %(plugins)s")]
        raise ValidationFailed(
            N_("Not installed: %(plugins)s"), errors=errors, params={"plugins": ", ".join(unknown)}
        )
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    plan = session.scalar(select(Plan).where(Plan.name == name))
    if plan is None:
        plan = Plan(name=name, title=title.strip(), plugins=plugins)
        session.add(plan)
    else:
        plan.title, plan.plugins = title.strip(), plugins
    session.flush()
    _bump(session, Tenant.plan_id == plan.id)
    return plan


def assign(session: Session, tenant: Tenant, plan: Plan | None) -> None:
    tenant.plan_id = plan.id if plan else None
    session.flush()
    _bump(session, Tenant.id == tenant.id)


def delete(session: Session, plan: Plan) -> None:
    if session.scalar(select(Tenant.id).where(Tenant.plan_id == plan.id).limit(1)):
        raise Conflict(N_("Tenants are on this plan; move them to another plan first."))
    session.delete(plan)
    session.flush()


def _bump(session: Session, where: ColumnElement[bool]) -> None:
    session.execute(
        update(Tenant)
        .where(where)
        .values(plugins_version=Tenant.plugins_version + 1)
        .execution_options(synchronize_session=False)
    )
