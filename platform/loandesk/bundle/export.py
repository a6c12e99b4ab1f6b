"""Reading a tenant's configuration into the files of a bundle (see ``model.FILES``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.auth.models import User
from loandesk.bundle import automations as bundle_automations
from loandesk.bundle import fields as bundle_fields
from loandesk.bundle import flows as bundle_flows
from loandesk.bundle import reports as bundle_reports
from loandesk.bundle.contract import BundleContext
from loandesk.bundle.model import FOREVER, FORMAT
from loandesk.plugins import service as plugins
from loandesk.plugins.host import PluginHost
from loandesk.plugins.models import TenantPlugin
from loandesk.privacy import requests as privacy
from loandesk.privacy.models import RetentionPeriod
from loandesk.rbac import grants
from loandesk.rbac import service as rbac
from loandesk.rbac.catalog import ADMIN_ROLE, BUILTIN_ROLES
from loandesk.rbac.models import OrgUnit
from loandesk.rbac.org import Tree
from loandesk.tenancy.models import Tenant


def export(session: Session, host: PluginHost, tenant: Tenant) -> dict[str, dict[str, Any]]:
    """Every file of the current tenant's bundle, by file name."""
    enabled = plugins.enabled_names(session) & host.infos.keys()
    return {
        "tenant.yaml": tenant_file(tenant),
        "plugins.yaml": plugins_file(session, host),
        **bundle_fields.export_files(session, host.record_types(sorted(enabled))),
        "org.yaml": org_file(session),
        "roles.yaml": roles_file(session, host, enabled),
        **bundle_flows.export_files(session, host.record_types(sorted(enabled))),
        "privacy.yaml": privacy_file(session),
        "automations.yaml": bundle_automations.export_file(
            session, host.record_types(sorted(enabled))
        ),
        **bundle_reports.export_files(session, host, frozenset(enabled)),
        **plugin_files(session, host, frozenset(enabled)),
    }


def plugin_files(session: Session, host: PluginHost, enabled: frozenset[str]) -> dict[str, Any]:
    """The files the enabled plugins add (``loandesk_bundle_files``)."""
    return {
        f.name: f.export(session, BundleContext(session, f.name, enabled))
        for _, f in host.bundle_files(enabled)
    }


def tenant_file(tenant: Tenant) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "timezone": tenant.timezone,
        "locale": tenant.locale,
        "session": {
            "idle_minutes": tenant.session_idle_minutes,
            "absolute_hours": tenant.session_absolute_hours,
        },
        "require_two_factor": tenant.require_two_factor,
    }


def plugins_file(session: Session, host: PluginHost) -> dict[str, Any]:
    """Installed plugins the tenant has enabled or configured; secret settings never."""
    rows = {r.name: r for r in session.scalars(select(TenantPlugin))}
    enabled = plugins.enabled_names(session)
    found: dict[str, Any] = {}
    for name in sorted(rows.keys() & host.infos.keys()):
        secret = host.infos[name].secret_fields()
        settings = {k: v for k, v in sorted(rows[name].settings.items()) if k not in secret}
        entry: dict[str, Any] = {"enabled": name in enabled}
        if settings:
            entry["settings"] = settings
        found[name] = entry
    return {"plugins": found}


def org_file(session: Session) -> dict[str, Any]:
    tree = Tree.load(session)
    emails = _emails(session, {u.head_user_id for u in tree.units.values() if u.head_user_id})

    def unit(node: OrgUnit) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": node.name}
        if node.parent_id is not None:
            entry["kind"] = node.kind
        if node.head_user_id is not None:
            entry["head"] = emails[node.head_user_id]
        if children := tree.children(node.id):
            entry["units"] = [unit(child) for child in children]
        return entry

    (company,) = tree.children(None)
    return {"company": unit(company)}


def roles_file(session: Session, host: PluginHost, enabled: frozenset[str]) -> dict[str, Any]:
    """Every role but the tenant admin's (it always holds everything): built-in roles in their
    catalogue order, then custom roles by key."""
    order = {b.key: i for i, b in enumerate(BUILTIN_ROLES)}
    roles = sorted(
        (r for r in rbac.list_roles(session) if r.key != ADMIN_ROLE),
        key=lambda r: (not r.builtin, order.get(r.key, 0), r.key),
    )
    record_types = {
        t.key: bundle_fields.with_custom_fields(session, t)
        for t in host.record_types(sorted(enabled))
    }
    found = []
    for role in roles:
        access = {}
        rows = grants.grants_of(session, role)
        for key in sorted(rows.keys() & record_types.keys()):
            row, keys = rows[key], record_types[key].field_keys
            access[key] = {
                "scope": row.scope,
                "fields": {k: row.fields[k] for k in keys if k in row.fields},
                "export": [k for k in keys if k in row.export],
            }
        entry: dict[str, Any] = {"key": role.key}
        if role.builtin:
            entry["builtin"] = True
        entry |= {"name_zh": role.name_zh, "name_en": role.name_en}
        if role.description:
            entry["description"] = role.description
        entry["permissions"] = sorted(role.permissions)
        if access:
            entry["record_access"] = access
        found.append(entry)
    return {"roles": found}


def privacy_file(session: Session) -> dict[str, Any]:
    """The data-request deadline and the retention periods an admin has chosen."""
    periods = {
        r.record_type: FOREVER if r.days is None else r.days
        for r in session.scalars(select(RetentionPeriod).order_by(RetentionPeriod.record_type))
    }
    return {
        "data_request_due_days": privacy.get_settings(session).data_request_due_days,
        "retention": periods,
    }


def _emails(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.email).where(User.id.in_(ids)))
    return {user_id: email for user_id, email in rows}
