"""A third-party plugin: a page, an API resource, a nav entry, a permission, settings, and a
model with personal data and a retention period."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import marshmallow as ma
from flask import Blueprint, render_template_string
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import validate
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

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
    log_path = ma.fields.String(load_default=None, allow_none=True)
    slow_seconds = ma.fields.Integer(load_default=0)


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


@api.route("/greetings")
@sdk.require_token("users:read")
def api_greetings() -> dict[str, list[str]]:
    from sqlalchemy import select

    from loandesk_hello.models import HelloGreeting

    rows = sdk.session().scalars(select(HelloGreeting.text).order_by(HelloGreeting.id))
    return {"greetings": list(rows)}


@api.route("")
@sdk.require_token("users:read")
def api_hello() -> dict[str, str]:
    settings = sdk.plugin_settings("hello")
    return {
        "greeting": settings.get("greeting", "hello"),
        "has_key": str("api_key" in settings).lower(),
    }


@sdk.hookimpl
def loandesk_migrations() -> str:
    import loandesk_hello.models  # noqa: F401  (the table joins the metadata)

    return str(Path(__file__).parent / "migrations")


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
    return [sdk.Permission("hello.greet", "打招呼", "Greet", default_roles=("credit_officer",))]


# --- jobs and events: each leaves a line in a file, so a test in another process can see it ---


def _append(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def record(ctx: sdk.JobContext, path: str, text: str) -> None:
    _append(path, f"{ctx.tenant.slug if ctx.tenant else '-'}:{text}:{ctx.attempt}")


def flaky(ctx: sdk.JobContext, path: str, fail_times: int) -> None:
    """Fails until it has failed ``fail_times`` times in all (counted in the file)."""
    from pathlib import Path

    file = Path(path)
    before = file.read_text(encoding="utf-8").count("\n") if file.exists() else 0
    _append(path, f"attempt:{ctx.attempt}")
    if before < fail_times:
        raise RuntimeError(f"failing on purpose, {before + 1} of {fail_times}")


def store(ctx: sdk.JobContext, text: str) -> None:
    from loandesk_hello.models import HelloGreeting

    ctx.session.add(HelloGreeting(text=text))


def count(ctx: sdk.JobContext, total: int, pause_ms: int = 0) -> None:
    import time

    for done in range(1, total + 1):
        time.sleep(pause_ms / 1000)
        ctx.report_progress(done, total)


def on_user_created(ctx: sdk.JobContext, event: sdk.Event) -> None:
    import time

    settings = sdk.plugin_settings("hello")
    path = settings.get("log_path")
    if not path:
        return
    _append(path, f"start:{event.name}:{event.record_id}")
    time.sleep(float(settings.get("slow_seconds") or 0))
    _append(path, f"done:{event.name}:{event.record_id}")


def daily_report(ctx: sdk.JobContext) -> None:
    path = sdk.plugin_settings("hello").get("log_path")
    if path and ctx.tenant is not None:
        _append(path, f"daily:{ctx.tenant.slug}")


@sdk.hookimpl
def loandesk_schedules() -> list[sdk.Schedule]:
    return [sdk.Schedule("hello.daily", "0 2 * * *", "hello.daily_report")]


@sdk.hookimpl
def loandesk_jobs() -> list[sdk.JobSpec]:
    return [
        sdk.JobSpec("hello.daily_report", daily_report),
        sdk.JobSpec("hello.record", record),
        sdk.JobSpec("hello.store", store),
        sdk.JobSpec("hello.flaky", flaky, max_attempts=3, backoff=(0,)),
        sdk.JobSpec("hello.count", count),
    ]


@sdk.hookimpl
def loandesk_event_types() -> list[sdk.EventType]:
    return [sdk.EventType("hello.greeted", "已问候", "Greeted", "user")]


@sdk.hookimpl
def loandesk_event_handlers() -> list[sdk.EventHandler]:
    return [sdk.EventHandler("user.created", "log", on_user_created)]


# --- personal data: contacts are anonymised once their retention period has run out ---------


def _contacts_due(cutoff: datetime) -> Select[Any]:
    from loandesk_hello.models import HelloContact

    return (
        select(HelloContact.id)
        .where(HelloContact.ended_at < cutoff, HelloContact.anonymised_at.is_(None))
        .order_by(HelloContact.ended_at, HelloContact.id)
    )


def _anonymise_contact(session: Session, record_id: uuid.UUID, now: datetime) -> list[str]:
    from loandesk_hello.models import HelloContact

    contact = session.scalars(select(HelloContact).where(HelloContact.id == record_id)).one()
    cleared = sdk.clear_personal(contact)
    if contact.name != sdk.ANONYMISED_NAME:
        contact.name = sdk.ANONYMISED_NAME
        cleared.append("name")
    contact.anonymised_at = now
    return cleared


@sdk.hookimpl
def loandesk_retention_subjects() -> list[sdk.RetentionSubject]:
    return [
        sdk.RetentionSubject(
            key="hello.contact",
            label_zh="问候联系人",
            label_en="Hello contacts",
            clock_zh="联系结束后",
            clock_en="after the contact ended",
            due=_contacts_due,
            anonymise=_anonymise_contact,
            minimum_days=30,
            basis="测试用最短期限",
        )
    ]
