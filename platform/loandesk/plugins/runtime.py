"""The plugin host inside a request: the current tenant's enabled plugins and their hooks."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, abort, current_app, g, request

from loandesk import extension
from loandesk.errors import NotFound
from loandesk.fields import RecordType
from loandesk.i18n import N_
from loandesk.plugins import service
from loandesk.plugins.host import PluginHost
from loandesk.plugins.info import NavItem, Permission
from loandesk.tenancy import current


class EnabledCache:
    """Each tenant's enabled plugins, per process, keyed on the tenant's ``plugins_version``:
    a change in any process bumps the number, and every process reloads on its next request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[uuid.UUID, tuple[int, frozenset[str]]] = {}

    def get(self, tenant_id: uuid.UUID, version: int) -> frozenset[str] | None:
        entry = self._entries.get(tenant_id)
        return entry[1] if entry and entry[0] == version else None

    def put(self, tenant_id: uuid.UUID, version: int, names: frozenset[str]) -> None:
        with self._lock:
            self._entries[tenant_id] = (version, names)


def host() -> PluginHost:
    plugin_host: PluginHost = current_app.extensions["loandesk.plugins"]
    return plugin_host


# the plugins a change in progress is enabling (``enabled_as``), by tenant
_PENDING = "loandesk_plugins_pending"


@contextmanager
def enabled_as(tenant_id: uuid.UUID, names: frozenset[str]) -> Iterator[None]:
    """While a change that enables or disables plugins (a bundle applied) goes on in one
    transaction, the current tenant's plugins are ``names``: what it checks and makes after
    enabling them (an automation rule's channel, a record type's form) sees them, though the
    tenant's ``plugins_version`` read when the transaction began does not yet."""
    before = g.get(_PENDING)
    setattr(g, _PENDING, (tenant_id, names))
    try:
        yield
    finally:
        setattr(g, _PENDING, before)


def enabled() -> frozenset[str]:
    """The plugins the current tenant has enabled."""
    tenant = current()
    pending = g.get(_PENDING)
    if pending is not None and pending[0] == tenant.id:
        return frozenset(pending[1])
    cache: EnabledCache = current_app.extensions["loandesk.plugins.enabled"]
    names = cache.get(tenant.id, tenant.plugins_version)
    if names is None:
        names = frozenset(service.enabled_names(extension.session()) & host().infos.keys())
        cache.put(tenant.id, tenant.plugins_version, names)
    return names


def hook(name: str) -> Any:
    """A hook caller for the current tenant: only its enabled plugins answer."""
    return host().hook(name, frozenset(enabled()))


def nav_items() -> list[NavItem]:
    return host().nav_items(sorted(enabled()))


def permissions() -> list[Permission]:
    return host().permissions(sorted(enabled()))


def automation_actions() -> dict[str, Any]:
    """The actions rules of the current tenant may take: the core's and its enabled
    plugins', by key."""
    from loandesk.automations.actions import CORE_ACTIONS

    found = {a.key: a for a in CORE_ACTIONS}
    found.update({a.key: a for a in host().automation_actions(sorted(enabled()))})
    return found


def report_datasets() -> dict[str, Any]:
    """The datasets reports of the current tenant may be made of: its enabled plugins', by
    key (``loandesk.reports.Dataset``)."""
    return {d.key: d for d in host().report_datasets(sorted(enabled()))}


def builtin_reports() -> list[Any]:
    """The reports the current tenant's enabled plugins ship
    (``loandesk.reports.builtin.BuiltinReport``)."""
    return host().builtin_reports(sorted(enabled()))


def notification_channels() -> dict[str, Any]:
    """The channels the current tenant may send through: the core's in-app channel and its
    enabled plugins', by key."""
    from loandesk.notifications.channels import available

    return available(host().notification_channels(sorted(enabled())))


def record_types() -> list[RecordType]:
    """The record types of the current tenant's enabled plugins."""
    return list(host().record_types(sorted(enabled())))


def record_type(key: str) -> RecordType:
    """The enabled record type ``key``; ``NotFound`` when no enabled plugin brings it."""
    for candidate in record_types():
        if candidate.key == key:
            return candidate
    raise NotFound(N_("No such record type."))


def grantable_permissions() -> list[Permission]:
    """What the current tenant can grant in its roles: the core's permissions and those of
    its enabled plugins."""
    from loandesk.rbac.catalog import CORE_PERMISSIONS

    return [*CORE_PERMISSIONS, *permissions()]


def check_request_plugin() -> None:
    """404 for a route of a plugin the current tenant has not enabled."""
    owner = host().owner_of_blueprint(request.blueprint)
    if owner is not None and owner not in enabled():
        abort(404)


def init_app(app: Flask, plugin_host: PluginHost) -> None:
    app.extensions["loandesk.plugins"] = plugin_host
    app.extensions["loandesk.plugins.enabled"] = EnabledCache()
