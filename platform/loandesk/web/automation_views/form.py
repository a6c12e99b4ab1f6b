"""The rule form, both ways: a rule's JSON as the inputs show it (``state``), and the posted
inputs back into the rule's JSON for ``automations.service``. Inputs are named by where the
service reports problems (``name``, ``condition``, ``actions.0.title``), so each problem lands
next to its input; what cannot even be read (days that are no number, JSON params that do not
parse) is reported the same way before the service sees it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from loandesk.i18n import N_

Posted = MultiDict[str, str]
Errors = dict[str, list[str]]
CORE_TYPES = ("set_field", "create_todo", "start_flow", "webhook")
DEFAULT_CRON = "0 9 * * 1"  # Mondays at 09:00
ACTION_KEYS = (
    "type", "field", "value", "title", "note", "assignee_kind", "assignee_role",
    "assignee_user", "due_on", "due_days", "due_at", "due_field", "url", "params",
)  # fmt: skip


def blank_action(kind: str) -> dict[str, str]:
    """A new action's inputs (a to-do for the record's owner, due the same day)."""
    state = dict.fromkeys(ACTION_KEYS, "")
    state.update(type=kind, assignee_kind="owner", due_days="0", params="{}")
    return state


def state_of(row: Any | None, record_type: str) -> dict[str, Any]:
    """The inputs for a saved rule (``row``), or for a new one on ``record_type``."""
    if row is None:
        return {
            "name": "", "record_type": record_type, "trigger_kind": "event", "event": "",
            "changed_field": "",
            "date_field": "", "days": "0", "direction": "before", "at": "09:00",
            "cron": DEFAULT_CRON, "filters": "", "condition": "", "enabled": True,
            "actions": [],
        }  # fmt: skip
    trigger = dict(row.trigger or {})
    days = int(trigger.get("days") or 0)
    return {
        "name": row.name,
        "record_type": row.record_type,
        "trigger_kind": trigger.get("kind", "event"),
        "event": trigger.get("event", ""),
        "changed_field": trigger.get("field", "") if trigger.get("kind") == "event" else "",
        "date_field": trigger.get("field", ""),
        "days": str(abs(days)),
        "direction": "after" if days > 0 else "before",
        "at": trigger.get("at", "09:00"),
        "cron": trigger.get("cron", DEFAULT_CRON),
        "filters": "\n".join(trigger.get("filters") or []),
        "condition": row.condition or "",
        "enabled": row.enabled,
        "actions": [_action_state(step) for step in row.actions or []],
    }


def _action_state(step: Mapping[str, Any]) -> dict[str, str]:
    kind = str(step.get("type", ""))
    state = blank_action(kind)
    if kind == "set_field":
        state.update(field=str(step.get("field") or ""), value=_text(step.get("value")))
    elif kind == "create_todo":
        assignee = step.get("assignee") or {}
        due = step.get("due")
        state.update(
            title=str(step.get("title") or ""),
            note=str(step.get("note") or ""),
            assignee_kind=str(assignee.get("kind") or "owner"),
            assignee_role=str(assignee.get("role") or ""),
            assignee_user=str(assignee.get("user") or ""),
            due_on="1" if due else "",
            due_days=str((due or {}).get("days", 0)),
            due_at=str((due or {}).get("at") or ""),
            due_field=str((due or {}).get("field") or ""),
        )
    elif kind == "webhook":
        state["url"] = str(step.get("url") or "")
    elif kind != "start_flow":  # it takes no parameters
        params = {k: v for k, v in step.items() if k != "type"}
        state["params"] = json.dumps(params, ensure_ascii=False, indent=2)
    return state


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def posted_state(posted: Posted) -> dict[str, Any]:
    """The inputs as posted (to show them again, or to read them into a rule)."""
    actions = []
    index = 0
    while f"actions.{index}.type" in posted:
        actions.append({key: posted.get(f"actions.{index}.{key}", "") for key in ACTION_KEYS})
        index += 1
    return {
        "name": posted.get("name", ""),
        "record_type": posted.get("record_type", ""),
        "trigger_kind": posted.get("trigger_kind", "event"),
        "event": posted.get("event", ""),
        "changed_field": posted.get("changed_field", ""),
        "date_field": posted.get("date_field", ""),
        "days": posted.get("days", "0"),
        "direction": posted.get("direction", "before"),
        "at": posted.get("at", ""),
        "cron": posted.get("cron", ""),
        "filters": posted.get("filters", ""),
        "condition": posted.get("condition", ""),
        "enabled": posted.get("enabled") == "on",
        "actions": actions,
        "b_field": posted.get("b_field", ""),
        "b_op": posted.get("b_op", ""),
        "b_value": posted.get("b_value", ""),
        "b_join": posted.get("b_join", "and"),
    }


def arrange(state: dict[str, Any], posted: Posted) -> bool:
    """Apply an add / remove / move button (``add_action``, ``remove``, ``up``, ``down``) to
    ``state``'s actions; whether one was pressed (then nothing is saved)."""
    actions: list[dict[str, str]] = state["actions"]
    if kind := posted.get("add_action"):
        actions.append(blank_action(kind))
        return True
    for button, step in (("remove", 0), ("up", -1), ("down", 1)):
        raw = posted.get(button)
        if raw is None:
            continue
        try:
            index = int(raw)
        except ValueError:
            return True
        if not 0 <= index < len(actions):
            return True
        if button == "remove":
            del actions[index]
        elif 0 <= index + step < len(actions):
            actions[index], actions[index + step] = actions[index + step], actions[index]
        return True
    return False


def _whole(raw: str, where: str, errors: Errors) -> int | None:
    try:
        return int(raw.strip() or "0")
    except ValueError:
        errors.setdefault(where, []).append(N_("Enter a whole number of days."))
        return None


def rule_data(state: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
    """The rule JSON the inputs describe, and what could not be read (keyed like the
    service's problems)."""
    errors: Errors = {}
    if state["trigger_kind"] == "relative":
        days = _whole(state["days"], "trigger", errors)
        trigger: dict[str, Any] = {
            "kind": "relative",
            "field": state["date_field"],
            "days": (days or 0) * (1 if state["direction"] == "after" else -1),
            "at": state["at"] or "00:00",
        }
    elif state["trigger_kind"] == "schedule":
        lines = (line.strip() for line in state["filters"].splitlines())
        trigger = {"kind": "schedule", "cron": state["cron"], "filters": [x for x in lines if x]}
    else:
        trigger = {"kind": "event", "event": state["event"]}
        if state["changed_field"]:
            trigger["field"] = state["changed_field"]
    actions = []
    for index, step in enumerate(state["actions"]):
        actions.append(_action_data(step, f"actions.{index}", errors))
    data = {
        "name": state["name"],
        "record_type": state["record_type"],
        "trigger": trigger,
        "condition": state["condition"],
        "actions": actions,
        "enabled": state["enabled"],
    }
    return data, errors


def _action_data(step: Mapping[str, str], where: str, errors: Errors) -> dict[str, Any]:
    kind = step["type"]
    if kind == "set_field":
        return {"type": kind, "field": step["field"], "value": step["value"]}
    if kind == "create_todo":
        assignee: dict[str, Any] = {"kind": step["assignee_kind"]}
        if step["assignee_kind"] == "role":
            assignee["role"] = step["assignee_role"]
        elif step["assignee_kind"] == "user":
            assignee["user"] = step["assignee_user"]
        data: dict[str, Any] = {"type": kind, "title": step["title"], "assignee": assignee}
        if step["note"].strip():
            data["note"] = step["note"]
        if step["due_on"]:
            due: dict[str, Any] = {"days": _whole(step["due_days"], f"{where}.due", errors) or 0}
            if step["due_at"].strip():
                due["at"] = step["due_at"].strip()
            if step["due_field"]:
                due["field"] = step["due_field"]
            data["due"] = due
        return data
    if kind == "start_flow":
        return {"type": kind}
    if kind == "webhook":
        return {"type": kind, "url": step["url"].strip()}
    try:
        params = json.loads(step["params"] or "{}")
    except ValueError:
        params = None
    if not isinstance(params, dict):
        errors.setdefault(f"{where}.params", []).append(
            N_("Enter the parameters as a JSON object.")
        )
        params = {}
    return {**params, "type": kind}
