"""What a rule is, checked when an admin saves it: a trigger, a condition in the one
expression language over the record's fields, and actions with their parameters. Problems are
keyed by where they are (``trigger``, ``condition``, ``actions.1.title``) so the API and the
designer can show each next to its input.

The JSON, as the API and bundles carry it::

    {"name": "审批通过发签约短信", "record_type": "application",
     "trigger": {"kind": "event", "event": "application.approved"},
     # "field changed to a value": {"kind": "event", "event": "application.updated",
     #   "field": "stage"} with the condition stage == "signing"
     # or {"kind": "relative", "field": "sign_by", "days": -2, "at": "09:00"}
     # or {"kind": "schedule", "cron": "0 9 * * 1", "filters": ["stage:eq:documents"]}
     "condition": "amount >= 10000",
     "actions": [{"type": "set_field", "field": "stage", "value": "signing"}]}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from loandesk.errors import ValidationFailed
from loandesk.events import EventType
from loandesk.expressions import Expression, ExpressionError, compile_expression
from loandesk.fields.forms import Form
from loandesk.fields.registry import RecordType
from loandesk.fields.validation import message
from loandesk.i18n import N_

MAX_ACTIONS = 20
TRIGGER_KINDS = ("event", "relative", "schedule")
MAX_DAYS = 366


@dataclass(frozen=True)
class ActionType:
    """An action rules can take (the core's, or a plugin's through a hook). ``check(params,
    form, session)`` returns problems keyed by parameter name; ``run(ctx, params)`` does it for one
    record (``ctx``: ``automations.engine.ActionContext``) and returns a short result for the
    run log. ``key`` names it in rules: ``create_todo``, ``sms.send``.

    Optional: ``applies(record_type)`` says whether rules on that record type may use it
    (the catalog offers it only there; None: everywhere); ``preview(session, rule, form,
    record, params)`` describes what ``run`` would do for the record without doing it (the dry
    run shows it with the action's parameters; ``rule``: the ``AutomationRule`` row)."""

    key: str
    label_zh: str
    label_en: str
    check: Callable[[Mapping[str, Any], Form, Session], dict[str, list[str]]]
    run: Callable[..., Mapping[str, Any]]
    applies: Callable[[RecordType], bool] | None = None
    preview: Callable[[Session, Any, Form, Any, Mapping[str, Any]], Mapping[str, Any]] | None = None

    def label(self, locale: str) -> str:
        return self.label_zh if locale.startswith("zh") else self.label_en


@dataclass(frozen=True)
class Rule:
    name: str
    record_type: str
    trigger: dict[str, Any]
    condition: Expression | None
    actions: tuple[dict[str, Any], ...]
    enabled: bool = True
    problems: dict[str, list[str]] = field(default_factory=dict)

    @property
    def trigger_key(self) -> str:
        if self.trigger["kind"] == "relative":
            return f"relative:{self.trigger['field']}"
        if self.trigger["kind"] == "schedule":
            return "schedule"
        return f"event:{self.trigger['event']}"


def _relative(
    trigger: Mapping[str, Any], form: Form, problem: Callable[..., None]
) -> dict[str, Any]:
    """``{"kind": "relative", "field": "due_date", "days": -3, "at": "09:00"}``: on the day
    ``days`` from the record's date field (-3: three days before it), at ``at`` tenant time."""
    key = trigger.get("field")
    if form.expression_kinds.get(str(key)) not in ("date", "datetime"):
        problem("trigger", N_("Choose a date field of the form."))
    days = trigger.get("days")
    if not isinstance(days, int) or isinstance(days, bool) or abs(days) > MAX_DAYS:
        problem("trigger", N_("The number of days is a whole number from -366 to 366."))
    at = str(trigger.get("at") or "00:00")
    try:
        hours, minutes = (int(part) for part in at.split(":"))
        valid = 0 <= hours < 24 and 0 <= minutes < 60
    except ValueError:
        valid = False
    if not valid:
        problem("trigger", N_("Give the time of day as HH:MM."))
        hours, minutes = 0, 0
    return {"kind": "relative", "field": key, "days": days, "at": f"{hours:02d}:{minutes:02d}"}


def _event(trigger: Mapping[str, Any], form: Form, problem: Callable[..., None]) -> dict[str, Any]:
    """``{"kind": "event", "event": "application.updated", "field": "stage"}``: when the event
    happens — with ``field``, only when the change it reports includes that field (update
    events list the fields they changed in their payload's ``fields``)."""
    found: dict[str, Any] = {"kind": "event", "event": trigger["event"]}
    changed = trigger.get("field")
    if changed in (None, ""):
        return found
    if str(changed) not in form.expression_kinds:
        problem("trigger.field", N_("Choose a field of the form."))
    return {**found, "field": str(changed)}


def _schedule(
    trigger: Mapping[str, Any], form: Form, problem: Callable[..., None]
) -> dict[str, Any]:
    """``{"kind": "schedule", "cron": "0 9 * * 1", "filters": ["stage:eq:documents"]}``: when
    the cron (tenant time) comes due, for each record the saved filter selects (none: all)."""
    from loandesk.automations.scheduled import cron_problem, resolve_filters
    from loandesk.tenancy import current

    cron = " ".join(str(trigger.get("cron") or "").split())
    if wrong := cron_problem(cron):
        problem("trigger.cron", wrong)
    filters = trigger.get("filters") or []
    if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
        problem("trigger.filters", N_("Give the filters as a list of texts key:op:value."))
        filters = []
    try:
        resolved = resolve_filters(form, filters, current().timezone)
    except ValidationFailed as failed:
        for where, found in failed.errors.items():
            for text in found:
                problem(f"trigger.{where}", text)
    else:
        filters = [str(f) for f in resolved.state.filters]
    return {"kind": "schedule", "cron": cron, "filters": filters}


def event_types_for(
    record_type: str, has_flow: bool, types: Mapping[str, EventType]
) -> dict[str, EventType]:
    """The events a rule on ``record_type`` may listen for: the record type's own, and the
    approval events when its records go through approval."""
    return {
        name: t
        for name, t in types.items()
        if t.record_type == record_type or (has_flow and name.startswith("flow."))
    }


def parse(
    data: Mapping[str, Any],
    form: Form,
    events: Mapping[str, EventType],
    actions: Mapping[str, ActionType],
    session: Session,
) -> Rule:
    """The rule ``data`` describes for ``form``'s record type, or ``ValidationFailed`` with
    every problem keyed by where it is. ``events``: what this record type's rules may listen
    for; ``actions``: what they may do."""
    errors: dict[str, list[str]] = {}

    def problem(where: str, text: str, **params: Any) -> None:
        errors.setdefault(where, []).append(message(text, **params))

    name = data.get("name")
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 100:
        problem("name", N_("Use 1 to 100 characters."))
    trigger = data.get("trigger")
    if not isinstance(trigger, Mapping) or trigger.get("kind") not in TRIGGER_KINDS:
        problem("trigger", N_("Choose when the rule runs."))
        trigger = {}
    elif trigger["kind"] == "event" and trigger.get("event") not in events:
        problem("trigger", N_("No event of this record type is called %(name)s."),
                name=str(trigger.get("event")))  # fmt: skip
    elif trigger["kind"] == "event":
        trigger = _event(trigger, form, problem)
    elif trigger["kind"] == "relative":
        trigger = _relative(trigger, form, problem)
    elif trigger["kind"] == "schedule":
        trigger = _schedule(trigger, form, problem)
    condition = None
    text = data.get("condition") or ""
    if not isinstance(text, str):
        problem("condition", N_("Enter an expression."))
    elif text.strip():
        try:
            condition = compile_expression(text, form.expression_kinds)
        except ExpressionError as failed:
            problem("condition", failed.message, **failed.params)
    raw_actions = data.get("actions")
    if not isinstance(raw_actions, list) or not raw_actions:
        problem("actions", N_("Add at least one action."))
        raw_actions = []
    elif len(raw_actions) > MAX_ACTIONS:
        problem("actions", N_("A rule has at most %(limit)s actions."), limit=MAX_ACTIONS)
    checked = []
    for index, raw in enumerate(raw_actions[:MAX_ACTIONS]):
        where = f"actions.{index}"
        kind = str(raw.get("type")) if isinstance(raw, Mapping) else ""
        if kind not in actions:
            problem(where, N_("Choose what this action does."))
            continue
        applies = actions[kind].applies
        if applies is not None and not applies(form.record_type):
            problem(where, N_("Rules on this record type cannot use this action."))
            continue
        params = {k: v for k, v in raw.items() if k != "type"}
        for key, found in actions[kind].check(params, form, session).items():
            errors.setdefault(f"{where}.{key}", []).extend(found)
        checked.append({"type": kind, **params})
    if errors:
        raise ValidationFailed(N_("The rule has problems; see the marked fields."), errors=errors)
    return Rule(
        name=str(name).strip(),
        record_type=form.record_type.key,
        trigger=dict(trigger),
        condition=condition,
        actions=tuple(checked),
        enabled=bool(data.get("enabled", True)),
    )
