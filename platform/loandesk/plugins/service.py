"""Enabling plugins for the current tenant and keeping their settings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import marshmallow as ma
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loandesk import audit, events
from loandesk.db import uuid7
from loandesk.errors import Conflict, Forbidden, NotFound, ValidationFailed
from loandesk.i18n import N_
from loandesk.pii.keys import Keyring
from loandesk.plugins.host import PluginHost
from loandesk.plugins.info import Contributions, PluginInfo
from loandesk.plugins.models import TenantPlugin
from loandesk.rbac import grants
from loandesk.rbac import service as rbac
from loandesk.tenancy import plans
from loandesk.tenancy.context import current_id
from loandesk.tenancy.models import Tenant

_RECORD = "plugin_settings"  # secrets are encrypted with the tenant's data keys (loandesk.pii)


@dataclass(frozen=True)
class PluginState:
    info: PluginInfo
    enabled: bool
    settings: dict[str, Any]  # secret fields left out
    secrets_set: frozenset[str] = field(default_factory=frozenset)
    available: bool = True  # the tenant's plan allows it


def enabled_names(session: Session) -> frozenset[str]:
    """The current tenant's enabled plugins that its plan (if any) still allows."""
    rows = frozenset(
        session.scalars(select(TenantPlugin.name).where(TenantPlugin.enabled.is_(True)))
    )
    tenant_id = current_id()
    allowed = plans.available_plugins(session, tenant_id) if tenant_id else None
    return rows if allowed is None else rows & allowed


def _row(session: Session, name: str) -> TenantPlugin | None:
    return session.scalar(select(TenantPlugin).where(TenantPlugin.name == name))


def _info(host: PluginHost, name: str) -> PluginInfo:
    info = host.infos.get(name)
    if info is None:
        raise NotFound(N_("No such plugin."))
    return info


def states(session: Session, host: PluginHost) -> list[PluginState]:
    rows = {r.name: r for r in session.scalars(select(TenantPlugin))}
    tenant_id = current_id()
    allowed = plans.available_plugins(session, tenant_id) if tenant_id else None
    result = []
    for name in sorted(host.infos):
        row = rows.get(name)
        available = allowed is None or name in allowed
        result.append(
            PluginState(
                info=host.infos[name],
                enabled=bool(row and row.enabled) and available,
                available=available,
                settings=dict(row.settings) if row else {},
                secrets_set=frozenset(row.secrets) if row else frozenset(),
            )
        )
    return result


def state(session: Session, host: PluginHost, name: str) -> PluginState:
    info = _info(host, name)
    return next(s for s in states(session, host) if s.info is info)


def set_enabled(
    session: Session,
    host: PluginHost,
    *,
    tenant_id: uuid.UUID,
    name: str,
    enabled: bool,
    acting_user_id: uuid.UUID | None,
) -> None:
    """Enable or disable a plugin for the current tenant, with dependencies checked both ways:
    a plugin is enabled only after what it needs, and disabled only after what needs it."""
    info = _info(host, name)
    on = enabled_names(session)
    allowed = plans.available_plugins(session, tenant_id)
    if enabled and allowed is not None and name not in allowed:
        raise Forbidden(
            N_("Your plan does not include %(plugin)s."),
            params={"plugin": info.title_en},
            errors={"enabled": [N_("Not in your plan.")]},
        )
    if enabled:
        missing = [d for d in host.requirements(name) if d not in on]
        if missing:
            raise Conflict(
                N_("Enable %(plugins)s first: %(plugin)s needs it."),
                params={"plugins": ", ".join(_titles(host, missing)), "plugin": info.title_en},
                errors={"enabled": [N_("A plugin it needs is disabled.")]},
            )
        rivals = host.rivals(name, on)
        if rivals:
            raise Conflict(
                N_("Disable %(plugins)s first: it sends through a channel %(plugin)s gives too."),
                params={"plugins": ", ".join(_titles(host, rivals)), "plugin": info.title_en},
                errors={"enabled": [N_("Another enabled plugin gives the same channel.")]},
            )
    else:
        needing = [d for d in host.dependants(name) if d in on]
        if needing:
            raise Conflict(
                N_("Disable %(plugins)s first: it needs %(plugin)s."),
                params={"plugins": ", ".join(_titles(host, needing)), "plugin": info.title_en},
                errors={"enabled": [N_("Another enabled plugin needs it.")]},
            )
    row = _row(session, name) or TenantPlugin(name=name, settings={}, secrets={})
    if row.enabled == enabled and row in session:
        return
    row.enabled, row.updated_by_id = enabled, acting_user_id
    session.add(row)
    _bump_version(session, tenant_id)
    session.flush()
    events.emit(session, "plugin.enabled" if enabled else "plugin.disabled", "plugin", name)
    if enabled:
        contributed = host.contributions.get(name, Contributions())
        rbac.grant_defaults(session, contributed.permissions)
        grants.apply_defaults(session, contributed.record_types)
    audit.record(session, "plugin.enable" if enabled else "plugin.disable", "plugin", name)


def update_settings(
    session: Session,
    host: PluginHost,
    *,
    keyring: Keyring,
    tenant_id: uuid.UUID,
    name: str,
    values: dict[str, Any],
    acting_user_id: uuid.UUID | None,
) -> PluginState:
    """Validate ``values`` with the plugin's settings schema and store them; a secret field
    left empty keeps its stored value. Invalid values change nothing (422 with field errors)."""
    info = _info(host, name)
    if info.settings_schema is None:
        raise ValidationFailed(N_("This plugin has no settings."))
    row = _row(session, name) or TenantPlugin(name=name, enabled=False, settings={}, secrets={})
    secret_fields = info.secret_fields()
    incoming = {k: v for k, v in values.items() if not (k in secret_fields and v in ("", None))}
    schema = info.settings_schema()
    kept_secrets = set(row.secrets)
    try:
        loaded = schema.load(
            {**{k: v for k, v in row.settings.items() if k in schema.fields}, **incoming},
            partial=tuple(kept_secrets),
        )
    except ma.ValidationError as exc:
        raise ValidationFailed(
            N_("Some fields need attention."), errors=_flat(exc.messages)
        ) from None
    dumped = schema.dump(loaded)
    diff = audit.changes(
        dict(row.settings), {k: v for k, v in dumped.items() if k not in secret_fields}
    )
    diff.update({k: [audit.REDACTED, audit.REDACTED] for k in secret_fields & incoming.keys()})
    row.settings = {k: v for k, v in dumped.items() if k not in secret_fields}
    secrets = dict(row.secrets)
    if row.id is None:
        row.id = uuid7()  # the ciphertexts are bound to the row
    for key in secret_fields & incoming.keys():
        secrets[key] = keyring.encrypt(
            str(dumped[key]), record_type=_RECORD, field=f"{name}.{key}", record_id=row.id
        )
    row.secrets, row.updated_by_id = secrets, acting_user_id
    session.add(row)
    _bump_version(session, tenant_id)
    session.flush()
    if diff:
        audit.record(session, "plugin.settings", "plugin", name, diff)
    return state(session, host, name)


def settings_for(
    session: Session, host: PluginHost, *, keyring: Keyring, name: str
) -> dict[str, Any]:
    """A plugin's settings for the current tenant, secrets decrypted: for the plugin's code,
    never for display."""
    _info(host, name)
    row = _row(session, name)
    if row is None:
        return {}
    values = dict(row.settings)
    for key, token in row.secrets.items():
        values[key] = keyring.decrypt(
            token, record_type=_RECORD, field=f"{name}.{key}", record_id=row.id
        )
    return values


def _bump_version(session: Session, tenant_id: uuid.UUID) -> None:
    # Every process caches a tenant's enabled plugins under this number.
    session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id)
        .values(plugins_version=Tenant.plugins_version + 1)
        .execution_options(synchronize_session=False)
    )


def _titles(host: PluginHost, names: list[str]) -> list[str]:
    return [f"{host.infos[n].title_en} ({n})" for n in names]


def _flat(messages: Any) -> dict[str, list[str]]:
    if not isinstance(messages, dict):
        return {"_schema": [str(messages)]}
    return {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in messages.items()}
