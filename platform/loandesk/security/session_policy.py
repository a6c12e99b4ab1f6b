"""When a signed-in web session ends: after a tenant's idle timeout or its absolute timeout.

The session stores two Unix times: ``signed_in_at`` (stamped when a user id first enters the
session) and ``seen_at`` (the last request, refreshed at most once a minute so that the session
row is not written on every request).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.errors import ValidationFailed
from loandesk.i18n import N_
from loandesk.tenancy.context import TenantRef
from loandesk.tenancy.models import Tenant

SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
REFRESH_EVERY = 60  # seconds: how stale ``seen_at`` may get (idle may end up to this early)

IDLE_MINUTES = (5, 1440)
ABSOLUTE_HOURS = (1, 720)

State = Literal["active", "refresh", "idle", "expired"]


def stamp(data: dict[str, Any], now: float) -> None:
    """Record the sign-in time (once per sign-in: ``session.clear()`` removes it)."""
    if data.get("user_id") and SIGNED_IN_AT not in data:
        data[SIGNED_IN_AT] = data[SEEN_AT] = int(now)


def state(data: Mapping[str, Any], now: float, tenant: TenantRef) -> State:
    """``expired``: signed in longer ago than the absolute timeout (or before timestamps were
    kept); ``idle``: no request for the idle timeout; ``refresh``: active, and ``seen_at`` is
    due to be rewritten; ``active``: nothing to do."""
    signed_in_at, seen_at = data.get(SIGNED_IN_AT), data.get(SEEN_AT)
    if not isinstance(signed_in_at, int) or not isinstance(seen_at, int):
        return "expired"
    if now - signed_in_at >= tenant.session_absolute_hours * 3600:
        return "expired"
    if now - seen_at >= tenant.session_idle_minutes * 60:
        return "idle"
    return "refresh" if now - seen_at >= REFRESH_EVERY else "active"


def session_limit_problems(idle_minutes: int, absolute_hours: int) -> dict[str, list[str]]:
    """Why these timeouts are not acceptable (message ids by field); empty when they are."""
    errors: dict[str, list[str]] = {}
    if not IDLE_MINUTES[0] <= idle_minutes <= IDLE_MINUTES[1]:
        errors["idle_minutes"] = [N_("Use 5 to 1440 minutes.")]
    if not ABSOLUTE_HOURS[0] <= absolute_hours <= ABSOLUTE_HOURS[1]:
        errors["absolute_hours"] = [N_("Use 1 to 720 hours.")]
    elif not errors and idle_minutes > absolute_hours * 60:
        errors["idle_minutes"] = [N_("The idle timeout cannot be longer than the absolute one.")]
    return errors


def set_session_limits(
    session: Session, tenant: Tenant, *, idle_minutes: int, absolute_hours: int
) -> None:
    """Change the current tenant's session timeouts (audited); open sessions follow them at
    their next request."""
    if errors := session_limit_problems(idle_minutes, absolute_hours):
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    before = {
        "session_idle_minutes": tenant.session_idle_minutes,
        "session_absolute_hours": tenant.session_absolute_hours,
    }
    tenant.session_idle_minutes, tenant.session_absolute_hours = idle_minutes, absolute_hours
    session.flush()
    after = {"session_idle_minutes": idle_minutes, "session_absolute_hours": absolute_hours}
    if diff := audit.changes(before, after):
        audit.record(session, "tenant.session_limits", "tenant", tenant.id, diff)
