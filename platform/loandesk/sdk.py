"""The public surface for plugin authors: a plugin imports ``loandesk.sdk`` and nothing else of
the core. Re-exports only; each name is documented where it is defined.

A minimal plugin module, named by an entry point in the ``loandesk.plugins`` group::

    from loandesk import sdk

    PLUGIN = sdk.PluginInfo(name="hello", title_zh="示例", title_en="Hello", version="1.0")

    @sdk.hookimpl
    def loandesk_permissions():
        return [sdk.Permission("hello.greet", "打招呼", "Greet")]
"""

from __future__ import annotations

from typing import Any

import pluggy

from loandesk.auth.oauth import require_token
from loandesk.db import Base, Money, TenantOwned, UTCDateTime, utcnow, uuid7
from loandesk.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from loandesk.events import Event, EventHandler, EventType, emit
from loandesk.extension import session
from loandesk.i18n import N_
from loandesk.jobs import JobContext, JobSpec
from loandesk.jobs.runtime import enqueue
from loandesk.jobs.schedules import Schedule
from loandesk.pii.fields import PersonalData
from loandesk.pii.keys import Keyring
from loandesk.pii.retention import ANONYMISED_NAME, RetentionSubject, clear_personal
from loandesk.plugins.info import NavItem, Permission, PluginInfo
from loandesk.tenancy import TenantRef, current
from loandesk.tenancy.rls import enable as enable_rls
from loandesk.web.auth_views import admin_required, login_required, permission_required

hookimpl = pluggy.HookimplMarker("loandesk")


def plugin_settings(name: str) -> dict[str, Any]:
    """The settings of plugin ``name`` for the current tenant, secrets decrypted (for the
    plugin's own use: never display them)."""
    from loandesk import extension, pii
    from loandesk.plugins import runtime, service

    return service.settings_for(
        extension.session(), runtime.host(), keyring=pii.for_current_tenant(), name=name
    )


def personal_data_keys() -> Keyring:
    """The current tenant's keyring, to read and write a ``PersonalData`` model's personal
    fields in a view or job (docs/personal-data.md)."""
    from loandesk import pii

    return pii.for_current_tenant()


__all__ = [
    "ANONYMISED_NAME",
    "N_",
    "Base",
    "Conflict",
    "DomainError",
    "Event",
    "EventHandler",
    "EventType",
    "Forbidden",
    "JobContext",
    "JobSpec",
    "Keyring",
    "Money",
    "NavItem",
    "NotFound",
    "Permission",
    "PersonalData",
    "PluginInfo",
    "RetentionSubject",
    "Schedule",
    "TenantOwned",
    "TenantRef",
    "UTCDateTime",
    "ValidationFailed",
    "admin_required",
    "clear_personal",
    "current",
    "emit",
    "enable_rls",
    "enqueue",
    "hookimpl",
    "login_required",
    "permission_required",
    "personal_data_keys",
    "plugin_settings",
    "require_token",
    "session",
    "utcnow",
    "uuid7",
]
