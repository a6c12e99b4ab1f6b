"""Saving, changing and removing rules (checked by ``rules.parse``, audited), and the run log."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.automations.models import AutomationRule, RuleFiring
from loandesk.automations.rules import ActionType, event_types_for, parse
from loandesk.errors import Conflict, NotFound
from loandesk.events import EventType
from loandesk.fields.forms import Form
from loandesk.i18n import N_


def _parsed(
    session: Session,
    data: Mapping[str, Any],
    form: Form,
    types: Mapping[str, EventType],
    actions: Mapping[str, ActionType],
) -> Any:
    events = event_types_for(form.record_type.key, form.record_type.on_flow is not None, types)
    return parse(data, form, events, actions, session)


def _taken(session: Session, name: str, but: uuid.UUID | None = None) -> None:
    query = select(AutomationRule.id).where(AutomationRule.name == name)
    if but is not None:
        query = query.where(AutomationRule.id != but)
    if session.scalar(query) is not None:
        raise Conflict(N_("A rule with this name exists already."))


def create(
    session: Session,
    data: Mapping[str, Any],
    form: Form,
    types: Mapping[str, EventType],
    actions: Mapping[str, ActionType],
    *,
    user_id: uuid.UUID | None,
) -> AutomationRule:
    rule = _parsed(session, data, form, types, actions)
    _taken(session, rule.name)
    row = AutomationRule(
        name=rule.name,
        record_type=rule.record_type,
        trigger_key=rule.trigger_key,
        trigger=rule.trigger,
        condition=rule.condition.text if rule.condition else "",
        actions=list(rule.actions),
        enabled=rule.enabled,
        version=1,
        updated_by_id=user_id,
    )
    _start_schedule(row)
    session.add(row)
    session.flush()
    audit.record(session, "automation.create", "automation_rule", row.id, _audited(row))
    return row


def update(
    session: Session,
    row: AutomationRule,
    data: Mapping[str, Any],
    form: Form,
    types: Mapping[str, EventType],
    actions: Mapping[str, ActionType],
    *,
    user_id: uuid.UUID | None,
) -> AutomationRule:
    """Replace the rule (a new version: firings already recorded keep running the actions
    they were recorded with the version of)."""
    rule = _parsed(session, data, form, types, actions)
    _taken(session, rule.name, but=row.id)
    before = _audited(row)
    row.name = rule.name
    moved = row.trigger != rule.trigger
    if moved:
        row.checked_on = None  # a new time or field: look again today
    row.trigger_key = rule.trigger_key
    row.trigger = rule.trigger
    if moved:
        _start_schedule(row)
    row.condition = rule.condition.text if rule.condition else ""
    row.actions = list(rule.actions)
    row.enabled = rule.enabled
    row.version += 1
    row.updated_by_id = user_id
    session.flush()
    audit.record(
        session,
        "automation.update",
        "automation_rule",
        row.id,
        audit.changes(before, _audited(row)),
    )
    return row


def _start_schedule(row: AutomationRule) -> None:
    """A schedule rule saved (or enabled) now first fires at its next due time, not for one
    that passed before."""
    from loandesk.automations.scheduled import first_due
    from loandesk.db import utcnow
    from loandesk.tenancy import current

    if row.trigger.get("kind") == "schedule":
        row.last_due_at = first_due(row.trigger["cron"], utcnow(), current().timezone)


def get(session: Session, rule_id: uuid.UUID) -> AutomationRule:
    row = session.scalar(select(AutomationRule).where(AutomationRule.id == rule_id))
    if row is None:
        raise NotFound(N_("No such rule."))
    return row


def delete(session: Session, row: AutomationRule) -> None:
    """Remove a rule that never fired; one that did is disabled instead (its log stays)."""
    fired = session.scalar(select(func.count(RuleFiring.id)).where(RuleFiring.rule_id == row.id))
    if fired:
        raise Conflict(N_("This rule has run: disable it instead, so that its log stays."))
    audit.record(session, "automation.delete", "automation_rule", row.id, _audited(row))
    session.delete(row)
    session.flush()


def _audited(row: AutomationRule) -> dict[str, Any]:
    return {
        "name": row.name,
        "record_type": row.record_type,
        "trigger": row.trigger,
        "condition": row.condition,
        "actions": row.actions,
        "enabled": row.enabled,
    }


def runs(
    session: Session,
    rule_id: uuid.UUID,
    *,
    state: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[RuleFiring], int]:
    """The rule's run log, newest first: every firing with its state, progress and error."""
    query = select(RuleFiring).where(RuleFiring.rule_id == rule_id)
    if state:
        query = query.where(RuleFiring.state == state)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(RuleFiring.created_at.desc(), RuleFiring.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), int(total)


def list_rules(
    session: Session, *, record_type: str | None = None, page: int = 1, per_page: int = 20
) -> tuple[list[AutomationRule], int]:
    query = select(AutomationRule)
    if record_type:
        query = query.where(AutomationRule.record_type == record_type)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(AutomationRule.name).limit(per_page).offset((page - 1) * per_page)
    )
    return list(rows), int(total)


def set_enabled(session: Session, row: AutomationRule, enabled: bool) -> AutomationRule:
    if row.enabled != enabled:
        row.enabled = enabled
        if enabled:
            row.checked_on = None
            _start_schedule(row)
        session.flush()
        audit.record(
            session,
            "automation.enable" if enabled else "automation.disable",
            "automation_rule",
            row.id,
            {},
        )
    return row


@dataclass(frozen=True)
class Preview:
    """What a rule would do for one record now: whether its condition holds, and per action
    what it would do (texts rendered), without doing any of it."""

    holds: bool
    actions: list[dict[str, Any]]


def dry_run(
    session: Session,
    row: AutomationRule,
    record: Any,
    form: Form,
    actions: Mapping[str, ActionType],
    timezone: str,
) -> Preview:
    """The rule tried against ``record``: nothing is written."""
    from loandesk.automations.engine import values_of
    from loandesk.expressions import ExpressionError, compile_expression

    values = values_of(record, form)
    try:
        holds = not row.condition.strip() or compile_expression(
            row.condition, form.expression_kinds
        ).holds(values)
    except ExpressionError:
        holds = False
    title = getattr(record, form.record_type.title_field, "") or ""
    shown = {**values, "title": str(title), "today": _today(timezone)}
    previews = []
    for index, step in enumerate(row.actions):
        kind = actions.get(str(step.get("type")))
        preview: dict[str, Any] = {"index": index, "type": step.get("type")}
        preview["label"] = (kind.label_zh, kind.label_en) if kind else None
        if kind is not None and kind.preview is not None:
            params = {k: v for k, v in step.items() if k != "type"}
            try:
                preview.update(kind.preview(session, row, form, record, params))
            except Exception as problem:  # a preview that cannot be made shows why
                preview["problem"] = f"{type(problem).__name__}: {problem}"
        for key, value in step.items():
            if key != "type":
                preview[key] = _rendered(key, value, shown)
        previews.append(preview)
    return Preview(bool(holds), previews)


_TEXTS = ("title", "note", "text", "subject", "body")


def _rendered(key: str, value: Any, shown: Mapping[str, Any]) -> Any:
    """An action's parameter as the dry run shows it: its message texts rendered (also
    those per language, as ``notify`` keeps them)."""
    from loandesk.automations.templates import render

    if isinstance(value, Mapping):
        return {k: _rendered(str(k), v, shown) for k, v in value.items()}
    if key in _TEXTS and isinstance(value, str):
        try:
            return render(value, shown)
        except Exception as problem:  # a template that cannot render shows why
            return f"!{type(problem).__name__}: {problem}"
    return value


def _today(timezone: str) -> str:
    from zoneinfo import ZoneInfo

    from loandesk.db import utcnow

    return utcnow().astimezone(ZoneInfo(timezone)).date().isoformat()


@dataclass(frozen=True)
class Catalog:
    """What a rule on one record type may use: its events, the actions on offer, and the
    fields conditions, templates and date triggers may name (key -> kind)."""

    events: list[EventType]
    actions: list[ActionType]
    fields: dict[str, str]
    date_fields: list[str]


def catalog(
    form: Form, types: Mapping[str, EventType], actions: Mapping[str, ActionType]
) -> Catalog:
    events = event_types_for(form.record_type.key, form.record_type.on_flow is not None, types)
    kinds = dict(form.expression_kinds)
    offered = [a for a in actions.values() if a.applies is None or a.applies(form.record_type)]
    return Catalog(
        events=sorted(events.values(), key=lambda t: t.name),
        actions=sorted(offered, key=lambda a: a.key),
        fields=kinds,
        date_fields=[k for k, kind in kinds.items() if kind in ("date", "datetime")],
    )
