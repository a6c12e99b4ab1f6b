"""The side panel's form, both ways: a node's (or branch's) JSON as the inputs show it, and a
posted panel back into the node's settings, with what cannot be read (a ratio that is no
number, a deadline without its amount) as errors next to the inputs. Whether the settings make
a flow that can run (somebody to approve, a condition that compiles) is the tree's check:
those problems are saved with the draft and shown on the cards.

The condition builder (field + operator + value) writes the expression text for managers who
would rather not: ``clause`` turns its three inputs into ``amount < 50000``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.datastructures import MultiDict

from loandesk.fields.forms import Form
from loandesk.fields.registry import NUMERIC_KINDS
from loandesk.flows.tree import (
    DEADLINE_KINDS,
    MAX_LEVELS,
    MODES,
    TIMEOUT_ACTIONS,
    WHEN_EMPTY,
)
from loandesk.i18n import N_

Posted = MultiDict[str, str]  # a posted form (``request.form``)

Errors = dict[str, list[str]]  # input name -> message ids (translated by the view)

# Operators of the condition builder, by what a field's value is.
NUMBER_OPERATORS = ("<", "<=", ">", ">=", "==", "!=")
TEXT_OPERATORS = ("==", "!=")
EMPTY_OPERATORS = ("empty", "not_empty")
BOOLEAN_OPERATORS = ("true", "false")
LIST_OPERATORS = ("contains",)
DATE_KINDS = ("date", "datetime")


def operators(kind: str) -> tuple[str, ...]:
    """The builder's operators for a field of ``kind`` (as expressions see it)."""
    if kind in NUMERIC_KINDS or kind in DATE_KINDS:
        return NUMBER_OPERATORS + EMPTY_OPERATORS
    if kind == "boolean":
        return BOOLEAN_OPERATORS + EMPTY_OPERATORS
    if kind == "multi_select":
        return LIST_OPERATORS + EMPTY_OPERATORS
    return TEXT_OPERATORS + EMPTY_OPERATORS


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def clause(form: Form, key: str, operator: str, raw: str) -> tuple[str | None, Errors]:
    """The expression ``key operator value`` for the builder's inputs, or the errors."""
    kinds = form.expression_kinds
    if key not in kinds:
        return None, {"b_field": [N_("Choose a field.")]}
    kind = kinds[key]
    if operator not in operators(kind):
        return None, {"b_op": [N_("Choose how to compare.")]}
    if operator == "empty":
        return f"{key} == null", {}
    if operator == "not_empty":
        return f"{key} != null", {}
    if operator in BOOLEAN_OPERATORS:
        return f"{key} == {operator}", {}
    value = raw.strip()
    if not value:
        return None, {"b_value": [N_("Enter the value to compare with.")]}
    if kind in NUMERIC_KINDS:
        try:
            number = Decimal(value.replace(",", ""))
        except InvalidOperation:
            return None, {"b_value": [N_("Enter a number.")]}
        if not number.is_finite():
            return None, {"b_value": [N_("Enter a number.")]}
        return f"{key} {operator} {number}", {}
    if kind in DATE_KINDS:
        from datetime import date

        try:
            date.fromisoformat(value)
        except ValueError:
            return None, {"b_value": [N_("Enter a date as YYYY-MM-DD.")]}
        return f'{key} {operator} d"{value}"', {}
    spec = form.field(key)
    for option, label_zh, label_en in spec.options:  # a label stands for its option's value
        if value in (label_zh, label_en):
            value = option
    if operator == "contains":
        return f"{_quoted(value)} in {key}", {}
    return f"{key} {operator} {_quoted(value)}", {}


def combine(current: str, joiner: str, addition: str) -> str:
    """``addition`` added to the condition ``current`` with ``and`` / ``or``."""
    current = current.strip()
    if not current:
        return addition
    return f"{current} {'or' if joiner == 'or' else 'and'} {addition}"


def _whole(raw: Any, low: int, high: int) -> int | None:
    try:
        number = int(str(raw).strip())
    except ValueError:
        return None
    return number if low <= number <= high else None


def read_assignees(posted: Posted, errors: Errors) -> list[dict[str, Any]]:
    """The picked assignees, in the order: people, roles, unit heads, manager, form fields."""
    found: list[dict[str, Any]] = []
    found += [{"kind": "user", "user": u} for u in dict.fromkeys(posted.getlist("user")) if u]
    found += [{"kind": "role", "role": r} for r in dict.fromkeys(posted.getlist("role")) if r]
    found += [{"kind": "unit_head", "unit": u} for u in dict.fromkeys(posted.getlist("unit")) if u]
    if posted.get("manager"):
        levels = _whole(posted.get("manager_levels", "1"), 1, MAX_LEVELS)
        if levels is None:
            errors["manager_levels"] = [N_("The manager level is from 1 to 10.")]
        else:
            found.append({"kind": "manager", "levels": levels})
    found += [{"kind": "field", "field": f} for f in dict.fromkeys(posted.getlist("field")) if f]
    return found


def read(
    node: Mapping[str, Any], is_branch: bool, posted: Posted, form: Form
) -> tuple[dict[str, Any], Errors]:
    """The settings a posted panel gives the node (or branch) ``node``; errors by input."""
    errors: Errors = {}
    name = str(posted.get("name", "")).strip()
    if len(name) > 100:
        errors["name"] = [N_("Use at most 100 characters.")]
    settings: dict[str, Any] = {"name": name}
    kind = node.get("type")
    if is_branch:
        text = str(posted.get("condition", "")).strip()
        if posted.get("build"):
            added, problems = clause(
                form,
                str(posted.get("b_field", "")),
                str(posted.get("b_op", "")),
                str(posted.get("b_value", "")),
            )
            errors.update(problems)
            if added is not None:
                text = combine(text, str(posted.get("b_join", "and")), added)
        settings["condition"] = text
    elif kind == "approver":
        settings.update(_approver(posted, errors))
    elif kind == "cc":
        settings["assignees"] = read_assignees(posted, errors)
    elif kind == "automation":
        value = str(posted.get("value", "")).strip()
        settings.update(
            action="set_field", field=str(posted.get("set_field", "")), value=value or None
        )
    elif kind == "end":
        settings["outcome"] = "rejected" if posted.get("outcome") == "rejected" else "approved"
    return settings, errors


def _approver(posted: Posted, errors: Errors) -> dict[str, Any]:
    settings: dict[str, Any] = {"assignees": read_assignees(posted, errors)}
    mode = posted.get("mode", "any")
    settings["mode"] = mode if mode in MODES else "any"
    if settings["mode"] == "ratio":
        ratio = _whole(posted.get("ratio", ""), 1, 100)
        if ratio is None:
            errors["ratio"] = [N_("The pass ratio is a whole percent from 1 to 100.")]
        settings["ratio"] = ratio
    when_empty = posted.get("when_empty", "admin")
    settings["when_empty"] = when_empty if when_empty in WHEN_EMPTY else "admin"
    settings["bulk"] = bool(posted.get("bulk"))
    kind = posted.get("deadline_kind", "")
    if kind in DEADLINE_KINDS:
        if kind == "field":
            key = str(posted.get("deadline_field", ""))
            if not key:
                errors["deadline_field"] = [N_("Choose the date field the deadline follows.")]
            settings["deadline"] = {"kind": "field", "field": key}
        else:
            amount = _whole(posted.get("deadline_amount", ""), 1, 8760)
            if amount is None:
                errors["deadline_amount"] = [N_("The deadline is a whole number from 1 to 8760.")]
            settings["deadline"] = {"kind": kind, "amount": amount}
        action = posted.get("on_timeout", "remind")
        settings["on_timeout"] = action if action in TIMEOUT_ACTIONS else "remind"
        if settings["on_timeout"] == "transfer":
            user = str(posted.get("timeout_user", ""))
            if not user:
                errors["timeout_user"] = [N_("Choose who the task goes to when it is late.")]
            settings["timeout_user"] = user
    return settings


def values(node: Mapping[str, Any]) -> dict[str, Any]:
    """The panel's inputs for ``node`` as saved (the inverse of ``read``)."""
    picked: dict[str, list[str]] = {"user": [], "role": [], "unit": [], "field": []}
    manager_levels: int | None = None
    for item in node.get("assignees") or []:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("kind")
        if kind == "user":
            picked["user"].append(str(item.get("user")))
        elif kind == "role":
            picked["role"].append(str(item.get("role")))
        elif kind == "unit_head":
            picked["unit"].append(str(item.get("unit")))
        elif kind == "field":
            picked["field"].append(str(item.get("field")))
        elif kind == "manager":
            manager_levels = item.get("levels", 1)
    found = node.get("deadline")
    deadline: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    return {
        "name": node.get("name") or "",
        **picked,
        "manager": manager_levels is not None,
        "manager_levels": manager_levels or 1,
        "mode": node.get("mode", "any"),
        "ratio": node.get("ratio") or "",
        "when_empty": node.get("when_empty", "admin"),
        "bulk": bool(node.get("bulk")),
        "deadline_kind": deadline.get("kind", ""),
        "deadline_amount": deadline.get("amount") or "",
        "deadline_field": deadline.get("field") or "",
        "on_timeout": node.get("on_timeout", "remind"),
        "timeout_user": node.get("timeout_user") or "",
        "condition": node.get("condition") or "",
        "set_field": node.get("field") or "",
        "value": "" if node.get("value") is None else str(node.get("value")),
        "outcome": node.get("outcome", "approved"),
        "b_field": "",
        "b_op": "",
        "b_value": "",
        "b_join": "and",
    }


def posted_values(node: Mapping[str, Any], posted: Posted) -> dict[str, Any]:
    """The panel's inputs as posted (shown again, with their errors, when refused)."""
    found = values(node)
    for key in ("user", "role", "unit", "field"):
        found[key] = posted.getlist(key)
    for key in found:
        if key in ("user", "role", "unit", "field"):
            continue
        if key in ("manager", "bulk"):
            found[key] = bool(posted.get(key))
        elif posted.get(key) is not None:
            found[key] = posted.get(key)
    return found
