"""Saving, changing and removing rules (checked by ``rules.parse``, audited), and the run log."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
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
    data: Mapping[str, Any],
    form: Form,
    types: Mapping[str, EventType],
    actions: Mapping[str, ActionType],
) -> Any:
    events = event_types_for(form.record_type.key, form.record_type.on_flow is not None, types)
    return parse(data, form, events, actions)


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
    rule = _parsed(data, form, types, actions)
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
    rule = _parsed(data, form, types, actions)
    _taken(session, rule.name, but=row.id)
    before = _audited(row)
    row.name = rule.name
    if row.trigger != rule.trigger:
        row.checked_on = None  # a new time or field: look again today
    row.trigger_key = rule.trigger_key
    row.trigger = rule.trigger
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
