"""A third-party plugin: a page, an API resource, a nav entry, a permission and settings."""

from __future__ import annotations

import marshmallow as ma
from flask import Blueprint, render_template_string
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import validate

from loandesk import sdk


class HelloSettings(ma.Schema):
    greeting = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=50),
        metadata={"label_zh": "问候语", "label_en": "Greeting"},
    )
    tone = ma.fields.String(load_default="warm", validate=validate.OneOf(["warm", "formal"]))
    daily_limit = ma.fields.Integer(load_default=10, validate=validate.Range(min=1, max=1000))
    api_key = ma.fields.String(metadata={"secret": True, "label_en": "API key"})


PLUGIN = sdk.PluginInfo(
    name="hello",
    title_zh="问候",
    title_en="Hello",
    version="1.0.0",
    description_en="Says hello.",
    settings_schema=HelloSettings,
)

web = Blueprint("hello", __name__, url_prefix="/hello")
api = ApiBlueprint("hello", __name__, url_prefix="/hello")


@web.get("/")
@sdk.login_required
def page() -> str:
    greeting = sdk.plugin_settings("hello").get("greeting", "hello")
    return render_template_string(
        "<p id='greeting'>{{ g }}, {{ t }}</p>", g=greeting, t=sdk.current().name
    )


@api.route("")
@sdk.require_token("users:read")
def api_hello() -> dict[str, str]:
    settings = sdk.plugin_settings("hello")
    return {
        "greeting": settings.get("greeting", "hello"),
        "has_key": str("api_key" in settings).lower(),
    }


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    return [web]


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    return [api]


@sdk.hookimpl
def loandesk_nav_items() -> list[sdk.NavItem]:
    return [sdk.NavItem("tenant.hello.page", "问候", "Hello")]


@sdk.hookimpl
def loandesk_permissions() -> list[sdk.Permission]:
    return [sdk.Permission("hello.greet", "打招呼", "Greet")]
