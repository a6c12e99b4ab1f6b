"""A tenant's security settings (安全设置): whether staff must sign in with two-factor codes,
and the web-session timeouts. Tenant admins change them on the web and through the API;
platform operators from the shell (``loandesk tenant set-session|set-security``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.auth.models import User
from loandesk.errors import ValidationFailed
from loandesk.i18n import N_
from loandesk.security.session_policy import session_limit_problems, set_session_limits
from loandesk.tenancy.models import Tenant


@dataclass(frozen=True)
class SecuritySettings:
    require_two_factor: bool
    session_idle_minutes: int
    session_absolute_hours: int


def security_settings(tenant: Tenant) -> SecuritySettings:
    return SecuritySettings(
        require_two_factor=tenant.require_two_factor,
        session_idle_minutes=tenant.session_idle_minutes,
        session_absolute_hours=tenant.session_absolute_hours,
    )


def update_security_settings(
    session: Session,
    tenant: Tenant,
    *,
    require_two_factor: bool | None = None,
    session_idle_minutes: int | None = None,
    session_absolute_hours: int | None = None,
    acting_user: User | None = None,
) -> SecuritySettings:
    """Change what is given (None keeps a setting); every change is audited. Invalid values
    change nothing (``ValidationFailed`` naming the fields). An admin who requires two-factor
    sign-in must have it themselves, so that they do not lock themselves into setting it up
    halfway through their work."""
    idle = tenant.session_idle_minutes if session_idle_minutes is None else session_idle_minutes
    absolute = (
        tenant.session_absolute_hours if session_absolute_hours is None else session_absolute_hours
    )
    errors = {f"session_{k}": v for k, v in session_limit_problems(idle, absolute).items()}
    if (
        require_two_factor
        and not tenant.require_two_factor
        and acting_user is not None
        and not acting_user.two_factor_enabled
    ):
        errors["require_two_factor"] = [N_("Set up two-factor sign-in for your own account first.")]
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    if (idle, absolute) != (tenant.session_idle_minutes, tenant.session_absolute_hours):
        set_session_limits(session, tenant, idle_minutes=idle, absolute_hours=absolute)
    if require_two_factor is not None and require_two_factor != tenant.require_two_factor:
        before = tenant.require_two_factor
        tenant.require_two_factor = require_two_factor
        session.flush()
        audit.record(
            session,
            "tenant.require_two_factor",
            "tenant",
            tenant.id,
            {"require_two_factor": [before, require_two_factor]},
        )
    return security_settings(tenant)
