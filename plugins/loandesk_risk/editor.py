"""The draft editor's form as a definition and back: inputs are named by the place
``policy.check`` names a problem (``rules.3.expression``, ``scorecard.grades.1.rate``), so
each message lands next to its input; the row buttons (add, remove) change the definition
being edited without saving it. No Flask here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from loandesk_risk import policy

INTEGERS = ("base", "missing_points", "points", "min_score")
OPEN_ENDS = ("min", "max")
_INTEGER = re.compile(r"^-?[0-9]{1,9}$")

EMPTY_RULE = {
    "key": "",
    "name_zh": "",
    "name_en": "",
    "expression": "",
    "outcome": "refer",
    "reason_code": "",
    "reason_zh": "",
    "reason_en": "",
}
EMPTY_BIN: dict[str, Any] = {"min": None, "max": None, "points": 0}
EMPTY_GRADE = {"grade": "", "min_score": 0, "limit": "0.00", "rate": "0.000000", "outcome": "pass"}


def parse(posted: Mapping[str, str]) -> dict[str, Any]:
    """The definition the form holds: ``rules.N.field`` and ``scorecard.…`` inputs as the
    JSON the API takes (whole numbers as int when they are; open bin ends as None)."""
    tree: dict[str, Any] = {}
    for name, value in posted.items():
        parts = name.split(".")
        if parts[0] not in ("rules", "scorecard") or len(parts) < 2:
            continue
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _value(parts[-1], value.strip())
    scorecard = _listed(tree.get("scorecard")) if posted.get("scorecard.on") else None
    if isinstance(scorecard, dict):
        scorecard.pop("on", None)
        scorecard.setdefault("variables", [])
        scorecard.setdefault("grades", [])
    return {"rules": _listed(tree.get("rules", {})) or [], "scorecard": scorecard}


def _value(field: str, value: str) -> Any:
    if field in INTEGERS and _INTEGER.match(value):
        return int(value)
    if field in OPEN_ENDS and not value:
        return None
    return value


def _listed(node: Any) -> Any:
    """Dicts keyed 0, 1, 2 … as lists in that order (form inputs carry the index)."""
    if not isinstance(node, dict):
        return node
    node = {k: _listed(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


def change(definition: dict[str, Any], op: str) -> dict[str, Any]:
    """``definition`` after the row button ``op`` (``add_rule``, ``remove_rule:3``,
    ``add_bin:0``, ``remove_bin:0:2``, ``add_variable``, ``remove_variable:1``,
    ``add_grade``, ``remove_grade:1``, ``add_scorecard``, ``remove_scorecard``)."""
    name, _, rest = op.partition(":")
    at = [int(p) for p in rest.split(":") if p.isdigit()]
    rules: list[Any] = definition.setdefault("rules", [])
    scorecard = definition.get("scorecard")
    if name == "add_rule":
        rules.append(dict(EMPTY_RULE))
    elif name == "remove_rule" and at and at[0] < len(rules):
        rules.pop(at[0])
    elif name == "add_scorecard" and not scorecard:
        definition["scorecard"] = {
            "base": 0,
            "variables": [{"key": "", "missing_points": 0, "bins": [dict(EMPTY_BIN)]}],
            "grades": [dict(EMPTY_GRADE)],
        }
    elif name == "remove_scorecard":
        definition["scorecard"] = None
    elif isinstance(scorecard, dict):
        _change_scorecard(scorecard, name, at)
    return definition


def _change_scorecard(scorecard: dict[str, Any], name: str, at: list[int]) -> None:
    variables: list[Any] = scorecard.setdefault("variables", [])
    grades: list[Any] = scorecard.setdefault("grades", [])
    if name == "add_variable":
        variables.append({"key": "", "missing_points": 0, "bins": [dict(EMPTY_BIN)]})
    elif name == "remove_variable" and at and at[0] < len(variables):
        variables.pop(at[0])
    elif name == "add_bin" and at and at[0] < len(variables):
        bins = variables[at[0]].setdefault("bins", [])
        last = bins[-1] if bins else None
        bins.append({**EMPTY_BIN, "min": last.get("max") if isinstance(last, dict) else None})
    elif name == "remove_bin" and len(at) == 2 and at[0] < len(variables):
        bins = variables[at[0]].get("bins") or []
        if at[1] < len(bins):
            bins.pop(at[1])
    elif name == "add_grade":
        grades.append(dict(EMPTY_GRADE))
    elif name == "remove_grade" and at and at[0] < len(grades):
        grades.pop(at[0])


def numeric_inputs(kinds: Mapping[str, str]) -> list[str]:
    """The inputs a scorecard variable may be: number kinds only."""
    return sorted(k for k, v in kinds.items() if v in policy.NUMERIC_KINDS)
