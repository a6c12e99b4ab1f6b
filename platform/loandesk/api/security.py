"""``/api/v1/security-settings``: the tenant's security settings."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from loandesk import extension
from loandesk.auth.oauth import require_token
from loandesk.security.session_policy import ABSOLUTE_HOURS, IDLE_MINUTES
from loandesk.security.tenant_settings import (
    SecuritySettings,
    security_settings,
    update_security_settings,
)
from loandesk.tenancy import current
from loandesk.tenancy.models import Tenant

blp = Blueprint(
    "api_security",
    __name__,
    url_prefix="/security-settings",
    description="Security settings: two-factor sign-in and web-session timeouts.",
)


class SecuritySettingsSchema(ma.Schema):
    require_two_factor = ma.fields.Boolean(
        metadata={
            "description": "Staff must sign in with a code from an authenticator app; those "
            "without one set it up at their next sign-in (or at once, if signed in)"
        }
    )
    session_idle_minutes = ma.fields.Integer(
        strict=True,
        metadata={
            "description": f"Web sessions end after this long without a request "
            f"({IDLE_MINUTES[0]}-{IDLE_MINUTES[1]}; at most the absolute timeout)"
        },
    )
    session_absolute_hours = ma.fields.Integer(
        strict=True,
        metadata={
            "description": f"Web sessions end this long after signing in "
            f"({ABSOLUTE_HOURS[0]}-{ABSOLUTE_HOURS[1]})"
        },
    )


def _tenant() -> Tenant:
    tenant = extension.session().get(Tenant, current().id)
    assert tenant is not None  # the token's tenant exists
    return tenant


@blp.route("")
class SecuritySettingsResource(MethodView):
    @require_token("security:read")
    @blp.response(200, SecuritySettingsSchema)
    def get(self) -> SecuritySettings:
        """The tenant's security settings."""
        return security_settings(_tenant())

    @require_token("security:write")
    @blp.arguments(SecuritySettingsSchema)
    @blp.response(200, SecuritySettingsSchema)
    def patch(self, args: dict[str, Any]) -> SecuritySettings:
        """Change some of the settings (those left out stay). Invalid values change nothing:
        422 with the field errors. Every change is audited."""
        saved = update_security_settings(extension.session(), _tenant(), **args)
        extension.session().commit()
        return saved
