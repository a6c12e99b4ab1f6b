"""Checking a whole bundle against the tenant it is applied to, before anything changes.

The service functions check every change again when it is applied; this pass finds the
problems that need the whole bundle in view (a permission of a plugin the bundle enables,
a field of a record type, custom fields and the conditions that name them, a head who must
exist) and reports all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from loandesk.auth import users
from loandesk.bundle import automations as bundle_automations
from loandesk.bundle import fields as bundle_fields
from loandesk.bundle import flows as bundle_flows
from loandesk.bundle import reports as bundle_reports
from loandesk.bundle.contract import BundleContext
from loandesk.bundle.model import BundleInvalid
from loandesk.fields.registry import RecordType
from loandesk.plugins import service as plugins
from loandesk.plugins.host import PluginHost
from loandesk.privacy.retention import shortest_days, subjects
from loandesk.rbac.catalog import ADMIN_ROLE, BUILTIN_ROLES, CORE_PERMISSIONS
from loandesk.rbac.org import CHILD_KINDS
from loandesk.rbac.service import KEY_PATTERN

Bundle = dict[str, dict[str, Any]]


def enabled_after(session: Session, host: PluginHost, bundle: Bundle) -> frozenset[str]:
    """The plugins the tenant will have enabled once the bundle is applied."""
    listed = bundle.get("plugins.yaml", {}).get("plugins", {})
    now = plugins.enabled_names(session) & host.infos.keys()
    off = {n for n, p in listed.items() if not p["enabled"]}
    on = {n for n, p in listed.items() if p["enabled"] and n in host.infos}
    return frozenset((now - off) | on)


def check(session: Session, host: PluginHost, bundle: Bundle) -> None:
    """``BundleInvalid`` listing every problem, or nothing."""
    enabled = enabled_after(session, host, bundle)
    declared = host.record_types(sorted(enabled))
    after = bundle_fields.record_types_after(session, bundle, declared)
    problems = [
        *_plugins(host, bundle, enabled),
        *bundle_fields.problems(session, bundle, declared),
        *_org(session, bundle),
        *_roles(host, bundle, enabled, after),
        *bundle_flows.problems(session, bundle, after),
        *_privacy(host, bundle, enabled),
        *bundle_automations.problems(session, bundle, after),
        *bundle_reports.problems(session, host, enabled, bundle),
        *_plugin_files(session, host, bundle, enabled),
    ]
    if problems:
        raise BundleInvalid(problems)


def _plugins(host: PluginHost, bundle: Bundle, enabled: frozenset[str]) -> Iterator[str]:
    listed = bundle.get("plugins.yaml", {}).get("plugins", {})
    for name, entry in listed.items():
        where = f"plugins.yaml: plugins.{name}"
        info = host.infos.get(name)
        if info is None:
            yield f"{where}: unknown plugin (installed: {', '.join(sorted(host.infos))})"
            continue
        if entry["enabled"]:
            for needed in host.requirements(name):
                if needed not in enabled:
                    yield f"{where}.enabled: needs plugin {needed!r} enabled too"
        settings = entry["settings"]
        if settings and info.settings_schema is None:
            yield f"{where}.settings: this plugin has no settings"
            continue
        known = info.settings_schema().fields if info.settings_schema else {}
        for key in settings:
            if key in info.secret_fields():
                yield (
                    f"{where}.settings.{key}: a secret is never kept in a bundle;"
                    " set it in the plugin's settings page (the stored value is kept)"
                )
            elif key not in known:
                yield f"{where}.settings.{key}: unknown setting"


def _plugin_files(
    session: Session, host: PluginHost, bundle: Bundle, enabled: frozenset[str]
) -> Iterator[str]:
    """A plugin's file needs its plugin enabled; then the plugin checks it."""
    planned = frozenset(bundle_flows.bundle_paths(bundle))
    for plugin, file in host.bundle_files():
        if file.name not in bundle:
            continue
        if plugin not in enabled:
            yield f"{file.name}: (top): plugin {plugin!r} is not enabled (see plugins.yaml)"
            continue
        context = BundleContext(session, file.name, enabled, bundle, planned)
        for path, message in file.check(session, bundle[file.name], context):
            yield f"{file.name}: {path}: {message}"


def _org(session: Session, bundle: Bundle) -> Iterator[str]:
    company = bundle.get("org.yaml", {}).get("company")
    if company is None:
        return

    def visit(unit: dict[str, Any], kind: str, path: str) -> Iterator[str]:
        head = unit.get("head")
        if head is not None:
            user = users.find_by_email(session, head)
            if user is None or not user.is_active:
                yield f"org.yaml: {path}.head: no active staff member {head!r} in this tenant"
        names = [u["name"] for u in unit["units"]]
        for name in sorted({n for n in names if names.count(n) > 1}):
            yield f"org.yaml: {path}.units: two units named {name!r}"
        for index, child in enumerate(unit["units"]):
            where = f"{path}.units[{index}]"
            if child["kind"] not in CHILD_KINDS[kind]:
                yield f"org.yaml: {where}: a {child['kind']} cannot be placed under a {kind}"
            yield from visit(child, child["kind"], where)

    yield from visit(company, "company", "company")


def _roles(
    host: PluginHost,
    bundle: Bundle,
    enabled: frozenset[str],
    record_types: dict[str, RecordType],
) -> Iterator[str]:
    """``record_types``: with their custom fields as they will be (grants may name them)."""
    roles = bundle.get("roles.yaml", {}).get("roles", [])
    builtin = {b.key for b in BUILTIN_ROLES}
    permissions = {p.name for p in (*CORE_PERMISSIONS, *host.permissions(sorted(enabled)))}
    keys = [r["key"] for r in roles]
    for index, role in enumerate(roles):
        where, key = f"roles.yaml: roles[{index}]", role["key"]
        if key == ADMIN_ROLE:
            yield f"{where}.key: the tenant admin always holds everything; leave it out"
            continue
        if keys.count(key) > 1:
            yield f"{where}.key: role {key!r} appears twice"
        if not KEY_PATTERN.match(key):
            yield f"{where}.key: use 2-40 lowercase letters, digits and _, starting with a letter"
        if role["builtin"] and key not in builtin:
            yield f"{where}.builtin: {key!r} is not a built-in role"
        if not role["builtin"] and key in builtin:
            yield f"{where}.builtin: {key!r} is a built-in role; mark it builtin: true"
        for permission in role["permissions"]:
            if permission not in permissions:
                yield f"{where}.permissions: unknown permission {permission!r}"
        for type_key, access in role["record_access"].items():
            at = f"{where}.record_access.{type_key}"
            record_type = record_types.get(type_key)
            if record_type is None:
                yield f"{at}: unknown record type, or its plugin is not enabled"
                continue
            fields = access["field_access"]
            for field in [*fields, *access["export"]]:
                if field not in record_type.field_keys:
                    yield f"{at}: unknown field {field!r}"
            for field in access["export"]:
                if field in record_type.field_keys and fields.get(field, "hidden") == "hidden":
                    yield f"{at}.export: hidden field {field!r} cannot be exported"


def _privacy(host: PluginHost, bundle: Bundle, enabled: frozenset[str]) -> Iterator[str]:
    retention = bundle.get("privacy.yaml", {}).get("retention", {})
    available = {s.key: s for s in subjects(host, enabled)}
    for key, days in retention.items():
        where = f"privacy.yaml: retention.{key}"
        subject = available.get(key)
        if subject is None:
            yield f"{where}: unknown record type, or its plugin is not enabled"
        elif days is not None and days < shortest_days(subject):
            yield f"{where}: shorter than the {shortest_days(subject)} days it must be kept"
