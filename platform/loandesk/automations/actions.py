"""The actions the core offers to rules (plugins add theirs through
``loandesk_automation_actions``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from loandesk import audit, pii
from loandesk.automations.flow_action import START_FLOW
from loandesk.automations.notify_action import NOTIFY
from loandesk.automations.rules import ActionType
from loandesk.automations.webhook import WEBHOOK
from loandesk.fields.forms import Form
from loandesk.fields.registry import FieldSpec
from loandesk.fields.validation import message, store_custom
from loandesk.fields.values import Invalid, parse
from loandesk.i18n import N_


def _settable(form: Form, key: Any) -> FieldSpec | None:
    spec = next((f for f in form.custom_fields if f.key == key), None)
    if spec is None or spec.computed or spec.encrypted:
        return None
    return spec


def check_set_field(
    params: Mapping[str, Any], form: Form, session: Session
) -> dict[str, list[str]]:
    spec = _settable(form, params.get("field"))
    if spec is None:
        return {"field": [message(N_("Choose one of the form's own (custom) fields."))]}
    try:
        parse(spec, params.get("value"))
    except Invalid as problem:
        return {"value": [message(problem.message, **problem.params)]}
    return {}


def run_set_field(ctx: Any, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """Set a custom field of the record (audited like any change of it)."""
    spec = _settable(ctx.form, params.get("field"))
    if spec is None:
        raise LookupError(f"field {params.get('field')!r} can no longer be set")
    value = parse(spec, params.get("value"))
    before = (ctx.record.custom or {}).get(spec.key)
    store_custom(ctx.record, ctx.form, {spec.key: value}, pii.for_current_tenant())
    ctx.session.flush()
    after = (ctx.record.custom or {}).get(spec.key)
    if before != after:
        audit.record(
            ctx.session,
            f"{ctx.record_type.key}.update",
            ctx.record_type.key,
            ctx.record.id,
            {spec.key: [before, after], "rule": str(ctx.rule.id)},
        )
    return {"field": spec.key, "value": str(params.get("value"))}


SET_FIELD = ActionType("set_field", "设置字段", "Set a field", check_set_field, run_set_field)

ASSIGNEE_KINDS = ("owner", "role", "user")
MAX_DAYS = 366


def _template_names(form: Form) -> list[str]:
    return list(form.expression_kinds)


def check_create_todo(
    params: Mapping[str, Any], form: Form, session: Session
) -> dict[str, list[str]]:
    """A to-do's title (and note) are templates over the record's fields; it goes to the
    record's owner, everyone holding a role, or a named user; it is due N days from the day
    the rule fires (or from a date field of the record), at a time of day or all day."""
    from loandesk.automations.templates import problems

    found: dict[str, list[str]] = {}
    names = _template_names(form)
    if wrong := problems(params.get("title"), names):
        found["title"] = wrong
    if params.get("note") and (wrong := problems(params.get("note"), names)):
        found["note"] = wrong
    assignee = params.get("assignee")
    kind = assignee.get("kind") if isinstance(assignee, Mapping) else None
    if kind not in ASSIGNEE_KINDS:
        found["assignee"] = [message(N_("Choose who the to-do is for."))]
    elif kind == "role" and not _role_exists(session, assignee.get("role")):  # type: ignore[union-attr]
        found["assignee"] = [message(N_("Choose a role."))]
    elif kind == "user" and not _user_active(session, assignee.get("user")):  # type: ignore[union-attr]
        found["assignee"] = [message(N_("This staff member does not exist or is deactivated."))]
    if problem := _due_problem(params.get("due"), form):
        found["due"] = [problem]
    return found


def _role_exists(session: Session, key: Any) -> bool:
    from sqlalchemy import select

    from loandesk.rbac.models import Role

    return bool(key) and session.scalar(select(Role.id).where(Role.key == key)) is not None


def _user_active(session: Session, ident: Any) -> bool:
    import uuid

    from loandesk.flows.assignees import active

    try:
        user_id = uuid.UUID(str(ident))
    except ValueError:
        return False
    return bool(active(session, [user_id]))


def _due_problem(due: Any, form: Form) -> str | None:
    if due is None:
        return None
    if not isinstance(due, Mapping):
        return message(N_("Say when the to-do is due."))
    days = due.get("days", 0)
    if not isinstance(days, int) or isinstance(days, bool) or abs(days) > MAX_DAYS:
        return message(N_("The number of days is a whole number from -366 to 366."))
    if due.get("field") and form.expression_kinds.get(due["field"]) not in ("date", "datetime"):
        return message(N_("Choose a date field of the form."))
    at = due.get("at")
    if at is not None and _time(at) is None:
        return message(N_("Give the time of day as HH:MM."))
    return None


def _time(text: Any) -> Any:
    from datetime import time

    try:
        hours, minutes = str(text).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        return None


def run_create_todo(ctx: Any, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """Create the to-do, linked to the record; keyed by the firing and action, so a retry
    finds the one it made."""
    import uuid
    from datetime import date, datetime, timedelta

    from loandesk.automations.templates import render
    from loandesk.tenancy import current
    from loandesk.todos import dates, service

    timezone = current().timezone
    values = {**ctx.values, **extras(ctx, timezone)}
    assignee = params["assignee"]
    user_id, role = None, None
    if assignee["kind"] == "owner":
        user_id = getattr(ctx.record, ctx.record_type.owner_column)
    elif assignee["kind"] == "role":
        role = assignee["role"]
    else:
        user_id = uuid.UUID(str(assignee["user"]))
    due = None
    if params.get("due") is not None:
        spec = params["due"]
        base: Any = date.fromisoformat(values["today"])
        if spec.get("field"):
            base = ctx.values.get(spec["field"])
            if isinstance(base, datetime):
                base = dates.local_moment(base, timezone).date()
        if isinstance(base, date):
            due = dates.due_at(base + timedelta(days=int(spec.get("days", 0))),
                               _time(spec["at"]) if spec.get("at") else None, timezone)  # fmt: skip
    todo = service.create(
        ctx.session,
        render(params["title"], values)[:200],
        assignee_user_id=user_id,
        assignee_role=role,
        due=due,
        note=render(params["note"], values) if params.get("note") else "",
        link=service.Link(ctx.record_type, str(ctx.record.id)),
        source=f"rule:{ctx.rule.id}",
        source_key=ctx.key,
    )
    return {"todo": str(todo.id), "title": todo.title}


def extras(ctx: Any, timezone: str) -> dict[str, Any]:
    """What templates see besides the fields: the record's title, the tenant's today."""
    from loandesk.db import utcnow
    from loandesk.todos import dates

    title = getattr(ctx.record, ctx.record_type.title_field, "") or ""
    return {"title": str(title), "today": dates.local_moment(utcnow(), timezone).date().isoformat()}


CREATE_TODO = ActionType(
    "create_todo", "创建待办", "Create a to-do", check_create_todo, run_create_todo
)

CORE_ACTIONS: tuple[ActionType, ...] = (SET_FIELD, CREATE_TODO, NOTIFY, START_FLOW, WEBHOOK)
