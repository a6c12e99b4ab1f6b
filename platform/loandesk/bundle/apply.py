"""Applying a bundle: what differs from the tenant becomes a list of changes, each made through
the service function an admin's change goes through (validated, audited; the actor is the
audit context's, "system" from the shell). The caller owns the transaction: it commits, or
rolls back for a dry run or when a change is refused (``BundleInvalid`` naming file and path).
Sections and items the bundle does not name are left as they are; a fields file describes
its record type's whole form (``loandesk.bundle.fields``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.auth import users
from loandesk.bundle import automations as bundle_automations
from loandesk.bundle import fields as bundle_fields
from loandesk.bundle import flows as bundle_flows
from loandesk.bundle import reports as bundle_reports
from loandesk.bundle.check import Bundle, check, enabled_after
from loandesk.bundle.contract import BundleContext, BundleFile, Change
from loandesk.bundle.model import BundleInvalid, flow_type_of, record_type_of
from loandesk.errors import DomainError
from loandesk.pii.keys import Keyring
from loandesk.plugins import runtime
from loandesk.plugins import service as plugins
from loandesk.plugins.host import PluginHost
from loandesk.plugins.models import TenantPlugin
from loandesk.privacy import requests as privacy
from loandesk.privacy import retention
from loandesk.privacy.models import RetentionPeriod
from loandesk.rbac import grants, org
from loandesk.rbac import service as rbac
from loandesk.rbac.catalog import CORE_PERMISSIONS
from loandesk.rbac.models import OrgUnit
from loandesk.reports.query import QueryContext
from loandesk.security.session_policy import set_session_limits
from loandesk.security.tenant_settings import update_security_settings
from loandesk.tenancy import service as tenants
from loandesk.tenancy.models import Tenant

T = TypeVar("T")


def apply(
    session: Session, host: PluginHost, keyring: Keyring, tenant: Tenant, bundle: Bundle
) -> list[Change]:
    """Check the whole bundle, then make every change it asks for, in file order: custom
    fields after the plugins that bring their record types, before the roles granting them;
    flows after the org units and roles they name; automation rules last (they may name the
    bundle's fields and roles); reports after them (a report may use those fields, and be
    shared with those roles), dashboards after the reports their tiles name; the files
    plugins add (``loandesk_bundle_files``) last, a plugin's after those it needs."""
    # the check, and the stages after plugins.yaml, see the plugins it enables (their
    # notification channels, automation actions, record types), though the tenant read at
    # the transaction's start had not enabled them yet
    with runtime.enabled_as(tenant.id, enabled_after(session, host, bundle)):
        check(session, host, bundle)
        return _stages(session, host, keyring, tenant, bundle)


def _stages(
    session: Session, host: PluginHost, keyring: Keyring, tenant: Tenant, bundle: Bundle
) -> list[Change]:
    run = _Run(session, host, keyring, tenant, bundle)
    forms = [(n, partial(run.fields, n)) for n in sorted(bundle) if record_type_of(n)]
    flows = [(n, partial(run.flow, n)) for n in sorted(bundle) if flow_type_of(n)]
    stages: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
        ("tenant.yaml", run.tenant),
        ("plugins.yaml", run.plugins),
        *forms,
        ("org.yaml", run.org),
        ("roles.yaml", run.roles),
        *flows,
        ("privacy.yaml", run.privacy),
        ("automations.yaml", run.automations),
        ("reports.yaml", run.reports),
        ("dashboards.yaml", run.dashboards),
    ]
    for _, file in host.bundle_files(run.enabled):
        stages.append((file.name, partial(run.plugin_file, file)))
    for name, stage in stages:
        if name in bundle:
            stage(bundle[name])
    return run.changes


class _Run:
    def __init__(
        self, session: Session, host: PluginHost, keyring: Keyring, tenant: Tenant, bundle: Bundle
    ) -> None:
        self.session, self.host, self.keyring, self.target = session, host, keyring, tenant
        self.bundle = bundle
        self.enabled = enabled_after(session, host, bundle)
        self.changes: list[Change] = []

    def change(
        self, file: str, path: str, summary: str, do: Callable[..., T], *args: Any, **kw: Any
    ) -> T:
        """``do(*args, **kw)``, noted as a change; a refusal names the file and path."""
        try:
            result = do(*args, **kw)
        except DomainError as error:
            message = error.message % error.params if error.params else error.message
            details = [f"{k}: {'; '.join(v)}" for k, v in error.errors.items()]
            raise BundleInvalid([f"{file}: {path}: {' '.join([message, *details])}"]) from None
        self.changes.append(Change(file, path, summary))
        return result

    # --- tenant.yaml -------------------------------------------------------------------------

    def tenant(self, data: dict[str, Any]) -> None:
        t, s, file = self.target, self.session, "tenant.yaml"
        zone, locale, limits = data["timezone"], data["locale"], data["session"]
        if (t.timezone, t.locale) != (zone, locale):
            summary = f"{t.timezone}, {t.locale} → {zone}, {locale}"
            self.change(
                file, "timezone", summary, tenants.set_region, s, t, timezone=zone, locale=locale
            )
        idle, absolute = limits["idle_minutes"], limits["absolute_hours"]
        if (t.session_idle_minutes, t.session_absolute_hours) != (idle, absolute):
            summary = (
                f"idle {t.session_idle_minutes} → {idle} minutes,"
                f" absolute {t.session_absolute_hours} → {absolute} hours"
            )
            self.change(
                file,
                "session",
                summary,
                set_session_limits,
                s,
                t,
                idle_minutes=idle,
                absolute_hours=absolute,
            )
        if t.require_two_factor != data["require_two_factor"]:
            summary = f"{t.require_two_factor} → {data['require_two_factor']}"
            self.change(
                file,
                "require_two_factor",
                summary,
                update_security_settings,
                s,
                t,
                require_two_factor=data["require_two_factor"],
            )

    # --- plugins.yaml ------------------------------------------------------------------------

    def plugins(self, data: dict[str, Any]) -> None:
        listed: dict[str, Any] = data["plugins"]
        now = plugins.enabled_names(self.session)
        rows = {r.name: r for r in self.session.scalars(select(TenantPlugin))}
        order = self._dependencies_first(sorted(listed))
        for name in order:  # settings first: a plugin may read them as it is enabled
            entry, row = listed[name], rows.get(name)
            stored = row.settings if row else {}
            if any(stored.get(k, _MISSING) != v for k, v in entry["settings"].items()):
                self.change(
                    "plugins.yaml",
                    f"plugins.{name}.settings",
                    "update " + ", ".join(sorted(entry["settings"])),
                    plugins.update_settings,
                    self.session,
                    self.host,
                    keyring=self.keyring,
                    tenant_id=self.target.id,
                    name=name,
                    values=dict(entry["settings"]),  # secrets left out: their values are kept
                    acting_user_id=None,
                )
            if entry["enabled"] and name not in now:
                self._set_enabled(name, True)
        for name in reversed(order):  # what needs a plugin is disabled before it
            if not listed[name]["enabled"] and name in now:
                self._set_enabled(name, False)

    def _set_enabled(self, name: str, enabled: bool) -> None:
        self.change(
            "plugins.yaml",
            f"plugins.{name}.enabled",
            "enable" if enabled else "disable",
            plugins.set_enabled,
            self.session,
            self.host,
            tenant_id=self.target.id,
            name=name,
            enabled=enabled,
            acting_user_id=None,
        )

    def _dependencies_first(self, names: list[str]) -> list[str]:
        ordered: list[str] = []
        for name in names:
            for item in (*self.host.requirements(name), name):
                if item in names and item not in ordered:
                    ordered.append(item)
        return ordered

    # --- fields/<record type>.yaml -----------------------------------------------------------

    def fields(self, name: str, data: dict[str, Any]) -> None:
        declared = {t.key: t for t in self.host.record_types(sorted(self.enabled))}
        record_type = declared[str(record_type_of(name))]
        bundle_fields.apply_file(
            self.change, self.session, name, record_type, data, sorted(declared)
        )

    # --- flows/<record type>.yaml ------------------------------------------------------------

    def flow(self, name: str, data: dict[str, Any]) -> None:
        declared = {t.key: t for t in self.host.record_types(sorted(self.enabled))}
        record_type = declared[str(flow_type_of(name))]
        bundle_flows.apply_file(self.change, self.session, name, record_type, data)

    # --- automations.yaml --------------------------------------------------------------------

    def automations(self, data: dict[str, Any]) -> None:
        bundle_automations.apply_file(self.change, self.session, self.host, self.enabled, data)

    # --- reports.yaml, dashboards.yaml -------------------------------------------------------

    def reports(self, data: dict[str, Any]) -> None:
        where = QueryContext(
            dialect=self.session.get_bind().dialect.name,
            timezone=self.target.timezone,
            keys=self.keyring,
            session=self.session,
        )
        bundle_reports.apply_reports(
            self.change, self.session, self.host, self.enabled, where, data
        )

    def dashboards(self, data: dict[str, Any]) -> None:
        bundle_reports.apply_dashboards(self.change, self.session, data)

    # --- files of plugins --------------------------------------------------------------------

    def plugin_file(self, file: BundleFile, data: dict[str, Any]) -> None:
        context = BundleContext(self.session, file.name, self.enabled, self.bundle)
        context.changes = self.changes  # the plugin's changes join the bundle's, in order
        file.apply(self.session, data, context)

    # --- org.yaml ----------------------------------------------------------------------------

    def org(self, data: dict[str, Any]) -> None:
        self._unit(org.company(self.session), data["company"], "company", 0)

    def _unit(self, unit: OrgUnit, spec: dict[str, Any], path: str, position: int) -> None:
        """Units are matched by name under their parent: a unit the bundle names elsewhere is
        a new one, and a unit it does not name is left where it is."""
        wanted: dict[str, Any] = {"name": spec["name"], "head_user_id": self._user(spec["head"])}
        if unit.parent_id is not None:
            wanted |= {"kind": spec["kind"], "position": position}
        differs = {k: v for k, v in wanted.items() if getattr(unit, k) != v}
        if differs:
            summary = "update " + ", ".join(sorted(differs))
            self.change("org.yaml", path, summary, org.update_unit, self.session, unit, **differs)
        existing = {u.name: u for u in org.Tree.load(self.session).children(unit.id)}
        for index, child in enumerate(spec["units"]):
            where = f"{path}.units[{index}]"
            found = existing.get(child["name"])
            if found is None:
                found = self.change(
                    "org.yaml",
                    where,
                    f"create {child['kind']} {child['name']!r}",
                    org.create_unit,
                    self.session,
                    parent_id=unit.id,
                    name=child["name"],
                    kind=child["kind"],
                    head_user_id=self._user(child["head"]),
                    position=index,
                )
            self._unit(found, child, where, index)

    def _user(self, email: str | None) -> uuid.UUID | None:
        user = users.find_by_email(self.session, email) if email else None
        return user.id if user else None

    # --- roles.yaml --------------------------------------------------------------------------

    def roles(self, data: dict[str, Any]) -> None:
        """Roles the bundle names get exactly its permissions and record access (a record
        type it does not list is taken away); other roles are left as they are."""
        available = frozenset(
            p.name for p in (*CORE_PERMISSIONS, *self.host.permissions(sorted(self.enabled)))
        )
        record_types = [  # custom fields included: they were applied before roles
            bundle_fields.with_custom_fields(self.session, t)
            for t in self.host.record_types(sorted(self.enabled))
        ]
        for index, spec in enumerate(data["roles"]):
            where = f"roles[{index}]"
            role = rbac.role_by_key(self.session, spec["key"])
            wanted = {
                "name_zh": spec["name_zh"],
                "name_en": spec["name_en"],
                "description": spec["description"],
                "permissions": sorted(set(spec["permissions"])),
            }
            if role is None:
                summary = f"create role {spec['key']!r}"
                role = self.change(
                    "roles.yaml",
                    where,
                    summary,
                    rbac.create_role,
                    self.session,
                    key=spec["key"],
                    available=available,
                    **wanted,
                )
            elif differs := {k: v for k, v in wanted.items() if _current(role, k) != v}:
                summary = "update " + ", ".join(sorted(differs))
                self.change(
                    "roles.yaml",
                    where,
                    summary,
                    rbac.update_role,
                    self.session,
                    role,
                    available=available,
                    **differs,
                )
            rows = grants.grants_of(self.session, role)
            for record_type in record_types:
                access = spec["record_access"].get(record_type.key)
                scope, fields, export = _grant(access)
                row = rows.get(record_type.key)
                have = _grant(None if row is None else vars_of(row))
                if have != (scope, fields, export):
                    self.change(
                        "roles.yaml",
                        f"{where}.record_access.{record_type.key}",
                        "remove" if access is None else f"set (scope {scope})",
                        grants.set_grant,
                        self.session,
                        role,
                        record_type,
                        scope=scope,
                        fields=dict(fields),
                        export=list(export),
                    )

    # --- privacy.yaml ------------------------------------------------------------------------

    def privacy(self, data: dict[str, Any]) -> None:
        days = data["data_request_due_days"]
        if privacy.get_settings(self.session).data_request_due_days != days:
            self.change(
                "privacy.yaml",
                "data_request_due_days",
                f"→ {days}",
                privacy.update_settings,
                self.session,
                data_request_due_days=days,
            )
        stored = {r.record_type: r.days for r in self.session.scalars(select(RetentionPeriod))}
        chosen = {
            key: value
            for key, value in data["retention"].items()
            if key not in stored or stored[key] != value
        }
        if chosen:
            available = retention.subjects(self.host, self.enabled)
            summary = "set " + ", ".join(sorted(chosen))
            self.change(
                "privacy.yaml",
                "retention",
                summary,
                retention.set_periods,
                self.session,
                available,
                chosen,
            )


def vars_of(row: Any) -> dict[str, Any]:
    return {"scope": row.scope, "field_access": row.fields, "export": row.export}


_MISSING = object()


def _current(role: Any, key: str) -> Any:
    value = getattr(role, key)
    return sorted(value) if key == "permissions" else value


def _grant(access: dict[str, Any] | None) -> tuple[Any, ...]:
    """A grant in comparable form: (scope, fields without hidden ones, sorted export)."""
    if access is None:
        return (None, (), ())
    fields = {k: v for k, v in access["field_access"].items() if v != "hidden"}
    return (access["scope"], tuple(sorted(fields.items())), tuple(sorted(access["export"])))
