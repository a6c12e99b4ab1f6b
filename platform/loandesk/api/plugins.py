"""``/api/v1/plugins``: the tenant's plugins, enabled or not, and their settings."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from loandesk import extension, pii
from loandesk.auth.oauth import require_token
from loandesk.plugins import runtime, service
from loandesk.plugins.service import PluginState
from loandesk.tenancy import current

blp = Blueprint(
    "api_plugins",
    __name__,
    url_prefix="/plugins",
    description="Plugins: enable loan modules and connectors per tenant.",
)


class PluginSchema(ma.Schema):
    name = ma.fields.String()
    title_zh = ma.fields.String()
    title_en = ma.fields.String()
    version = ma.fields.String()
    depends_on = ma.fields.List(ma.fields.String())
    enabled = ma.fields.Boolean()
    available = ma.fields.Boolean(metadata={"description": "The tenant's plan includes it"})
    settings = ma.fields.Dict(metadata={"description": "Secret settings are never returned"})
    secrets_set = ma.fields.List(
        ma.fields.String(), metadata={"description": "Secret settings that have a value"}
    )


class PluginUpdateSchema(ma.Schema):
    enabled = ma.fields.Boolean()
    settings = ma.fields.Dict(
        metadata={
            "description": "Validated by the plugin's schema; an empty secret keeps its value"
        }
    )


def _dump(state: PluginState) -> dict[str, Any]:
    return {
        "name": state.info.name,
        "title_zh": state.info.title_zh,
        "title_en": state.info.title_en,
        "version": state.info.version,
        "depends_on": list(state.info.depends_on),
        "enabled": state.enabled,
        "available": state.available,
        "settings": state.settings,
        "secrets_set": sorted(state.secrets_set),
    }


@blp.route("")
class Plugins(MethodView):
    @require_token("plugins:read")
    @blp.response(200, PluginSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every installed plugin, with whether this tenant enabled it."""
        return [_dump(s) for s in service.states(extension.session(), runtime.host())]


@blp.route("/<name>")
class PluginByName(MethodView):
    @require_token("plugins:read")
    @blp.response(200, PluginSchema)
    def get(self, name: str) -> dict[str, Any]:
        """One plugin."""
        return _dump(service.state(extension.session(), runtime.host(), name))

    @require_token("plugins:write")
    @blp.arguments(PluginUpdateSchema)
    @blp.response(200, PluginSchema)
    @blp.alt_response(409, description="A dependency is disabled, or an enabled plugin needs it")
    @blp.alt_response(422, description="Invalid settings; nothing was changed")
    def put(self, args: dict[str, Any], name: str) -> dict[str, Any]:
        """Enable or disable a plugin and/or change its settings, in one transaction."""
        session, host, tenant = extension.session(), runtime.host(), current()
        if "settings" in args:
            service.update_settings(
                session,
                host,
                keyring=pii.for_current_tenant(),
                tenant_id=tenant.id,
                name=name,
                values=args["settings"],
                acting_user_id=None,
            )
        if "enabled" in args:
            service.set_enabled(
                session,
                host,
                tenant_id=tenant.id,
                name=name,
                enabled=args["enabled"],
                acting_user_id=None,
            )
        state = service.state(session, host, name)
        session.commit()
        return _dump(state)
