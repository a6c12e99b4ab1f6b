"""A rule set as data and as code: ``check`` validates the JSON a risk manager saves (every
problem keyed by its place, ``rules.3.expression``), ``compile_policy`` turns a checked
definition into a ``Policy`` whose expressions are compiled once, and ``Policy.decide`` runs
it over one application's values. No database and no Flask here: submission, the bench and
(later) the back-test call the same ``decide``.

A definition::

    {"rules": [{"key": "too_young", "name_zh": "年龄不足", "name_en": "Too young",
                "expression": "age < 18", "outcome": "reject", "reason_code": "R001",
                "reason_zh": "申请人未满18周岁", "reason_en": "The applicant is under 18"}],
     "scorecard": {"base": 0, "variables": [{"key": "age", "missing_points": 0, "bins": [
                       {"min": null, "max": "25", "points": 5},
                       {"min": "25", "max": null, "points": 20}]}],
                   "grades": [{"grade": "A", "min_score": 60, "limit": "50000.00",
                               "rate": "0.0850"},
                              {"grade": "B", "min_score": 0, "limit": "10000.00",
                               "rate": "0.1500", "outcome": "refer"}]}}

A bin holds ``min <= value < max`` (an empty end is open); a variable's bins follow one
another without gap or overlap. Money and rates are decimal strings, points integers: no
float anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from loandesk.sdk import N_, Expression, ExpressionError, compile_expression, message

OUTCOMES = ("reject", "refer", "pass")
DECISIONS = ("auto_approve", "refer", "auto_reject")
NUMERIC_KINDS = ("integer", "decimal", "money", "percent")
MAX_RULES = 200
RATE_STEP = Decimal("0.000001")  # rates are kept to millionths (Money(6))

Problems = dict[str, list[Any]]


@dataclass(frozen=True)
class Rule:
    key: str
    outcome: str
    reason_code: str
    reason_zh: str
    reason_en: str
    expression: Expression


@dataclass(frozen=True)
class Bin:
    low: Decimal | None
    high: Decimal | None
    points: int

    def holds(self, value: Decimal) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value < self.high)

    @property
    def label(self) -> str:
        return f"[{'' if self.low is None else self.low}, {'' if self.high is None else self.high})"


@dataclass(frozen=True)
class Variable:
    key: str
    bins: tuple[Bin, ...]
    missing_points: int


@dataclass(frozen=True)
class Grade:
    grade: str
    min_score: int
    limit: Decimal
    rate: Decimal
    outcome: str  # what the band adds to the rules' outcome: pass, refer or reject


@dataclass(frozen=True)
class Outcome:
    """One decision: the values used, the rules that hit, each variable's bin and points, the
    score and grade with the suggested limit and rate, and ``decision``."""

    decision: str
    inputs: dict[str, Any]
    hits: list[dict[str, str]]
    scores: list[dict[str, Any]]
    total: int | None
    grade: str | None
    limit: Decimal | None
    rate: Decimal | None


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]
    variables: tuple[Variable, ...]
    base: int
    grades: tuple[Grade, ...]  # highest min_score first

    @cached_property
    def names(self) -> tuple[str, ...]:
        """The inputs this policy reads, sorted (worked out once: decide runs per decision)."""
        used = {name for rule in self.rules for name in rule.expression.names}
        return tuple(sorted(used | {v.key for v in self.variables}))

    def decide(self, values: Mapping[str, Any]) -> Outcome:
        hits = [
            {
                "key": r.key,
                "outcome": r.outcome,
                "reason_code": r.reason_code,
                "reason_zh": r.reason_zh,
                "reason_en": r.reason_en,
            }
            for r in self.rules
            if r.expression.holds(values)
        ]
        outcomes = {h["outcome"] for h in hits}
        total = grade = None
        scores: list[dict[str, Any]] = []
        if self.variables:
            total = self.base
            for variable in self.variables:
                entry = _score(variable, values.get(variable.key))
                scores.append(entry)
                total += entry["points"]
            grade = next((g for g in self.grades if total >= g.min_score), None)
            if grade is not None:
                outcomes.add(grade.outcome)
        return Outcome(
            decision=_decision(outcomes),
            inputs={name: plain(values.get(name)) for name in self.names},
            hits=hits,
            scores=scores,
            total=total,
            grade=grade.grade if grade else None,
            limit=grade.limit if grade else None,
            rate=grade.rate if grade else None,
        )


def _decision(outcomes: set[str]) -> str:
    if "reject" in outcomes:
        return "auto_reject"
    if "refer" in outcomes:
        return "refer"
    return "auto_approve"


def _score(variable: Variable, value: Any) -> dict[str, Any]:
    number = _number(value)
    found = None if number is None else next((b for b in variable.bins if b.holds(number)), None)
    return {
        "key": variable.key,
        "value": plain(value),
        "bin": found.label if found else None,
        "points": found.points if found else variable.missing_points,
    }


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    try:
        return Decimal(str(value)) if isinstance(value, str) else None
    except InvalidOperation:
        return None


def plain(value: Any) -> Any:
    """A value as JSON keeps it exactly (decimals and dates as text)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return str(value)


def typed(values: Mapping[str, Any], kinds: Mapping[str, str]) -> dict[str, Any]:
    """Stored ``plain`` values as the rules read them again: numbers of number kinds as
    Decimal, dates and times parsed; what does not parse is unknown (None)."""
    found: dict[str, Any] = {}
    for name, value in values.items():
        kind = kinds.get(name)
        if not isinstance(value, str) or kind is None:
            found[name] = value
        elif kind in NUMERIC_KINDS:
            found[name] = _decimal(value)
        elif kind in ("date", "datetime"):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                found[name] = None
            else:
                found[name] = parsed.date() if kind == "date" else parsed
        else:
            found[name] = value
    return found


# ---------------------------------------------------------------- checking and compiling


def empty() -> dict[str, Any]:
    return {"rules": [], "scorecard": None}


def _add(problems: Problems, place: str, text: str, **params: Any) -> None:
    problems.setdefault(place, []).append(message(text, **params))


def check(definition: Any, kinds: Mapping[str, str]) -> Problems:
    """What is wrong with ``definition`` over inputs ``kinds`` (name -> field kind), keyed by
    place; empty when it may be saved and published."""
    problems: Problems = {}
    if not isinstance(definition, Mapping):
        return {"rules": [message(N_("Send the rule set as an object."))]}
    rules = definition.get("rules", [])
    if not isinstance(rules, list):
        _add(problems, "rules", N_("Send a list."))
        rules = []
    if len(rules) > MAX_RULES:
        _add(problems, "rules", N_("Use at most %(limit)s rules."), limit=MAX_RULES)
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        _check_rule(rule, f"rules.{index}", kinds, seen, problems)
    scorecard = definition.get("scorecard")
    if scorecard is not None:
        _check_scorecard(scorecard, kinds, problems)
    unknown = set(definition) - {"rules", "scorecard"}
    for key in sorted(unknown):
        _add(problems, key, N_("Unknown field."))
    return problems


def _text(item: Mapping[str, Any], key: str, place: str, problems: Problems, limit: int) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        _add(problems, f"{place}.{key}", N_("This field is required."))
        return ""
    if len(value) > limit:
        _add(problems, f"{place}.{key}", N_("Use at most %(limit)s characters."), limit=limit)
    return value.strip()


def _check_rule(
    rule: Any, place: str, kinds: Mapping[str, str], seen: set[str], problems: Problems
) -> None:
    if not isinstance(rule, Mapping):
        _add(problems, place, N_("Send each rule as an object."))
        return
    key = _text(rule, "key", place, problems, 60)
    if key and key in seen:
        _add(problems, f"{place}.key", N_("Another rule has this key."))
    seen.add(key)
    for name in ("name_zh", "name_en", "reason_code", "reason_zh", "reason_en"):
        _text(rule, name, place, problems, 40 if name == "reason_code" else 200)
    if rule.get("outcome") not in OUTCOMES:
        _add(problems, f"{place}.outcome", N_("Choose reject, refer or pass."))
    expression = _text(rule, "expression", place, problems, 500)
    if expression:
        try:
            compile_expression(expression, kinds)
        except ExpressionError as problem:
            _add(problems, f"{place}.expression", problem.message, **problem.params)


def _decimal(value: Any) -> Decimal | None:
    """A decimal sent as text or an integer (never a float)."""
    if isinstance(value, bool | float):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _integer(item: Mapping[str, Any], key: str, place: str, problems: Problems) -> int:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        _add(problems, f"{place}.{key}", N_("Enter a whole number."))
        return 0
    return value


def _check_scorecard(scorecard: Any, kinds: Mapping[str, str], problems: Problems) -> None:
    if not isinstance(scorecard, Mapping):
        _add(problems, "scorecard", N_("Send the scorecard as an object."))
        return
    if "base" in scorecard:
        _integer(scorecard, "base", "scorecard", problems)
    variables = scorecard.get("variables")
    if not isinstance(variables, list) or not variables:
        _add(problems, "scorecard.variables", N_("Add at least one variable."))
        variables = []
    seen: set[str] = set()
    for index, variable in enumerate(variables):
        place = f"scorecard.variables.{index}"
        if not isinstance(variable, Mapping):
            _add(problems, place, N_("Send each variable as an object."))
            continue
        key = _text(variable, "key", place, problems, 60)
        if key and kinds.get(key) not in NUMERIC_KINDS:
            _add(problems, f"{place}.key", N_("Choose a number field."))
        if key in seen:
            _add(problems, f"{place}.key", N_("Another variable has this key."))
        seen.add(key)
        if "missing_points" in variable:
            _integer(variable, "missing_points", place, problems)
        _check_bins(variable.get("bins"), f"{place}.bins", problems)
    _check_grades(scorecard.get("grades"), problems)


def _check_bins(bins: Any, place: str, problems: Problems) -> None:
    if not isinstance(bins, list) or not bins:
        _add(problems, place, N_("Add at least one bin."))
        return
    previous: Decimal | None = None
    for index, item in enumerate(bins):
        here = f"{place}.{index}"
        if not isinstance(item, Mapping):
            _add(problems, here, N_("Send each bin as an object."))
            return
        _integer(item, "points", here, problems)
        low, high = item.get("min"), item.get("max")
        low_number = None if low is None else _decimal(low)
        high_number = None if high is None else _decimal(high)
        if low is not None and low_number is None:
            _add(problems, f"{here}.min", N_('Enter a number as text, e.g. "25".'))
            return
        if high is not None and high_number is None:
            _add(problems, f"{here}.max", N_('Enter a number as text, e.g. "25".'))
            return
        if index > 0 and (low_number is None or low_number != previous):
            _add(problems, f"{here}.min", N_("A bin starts where the one before ends."))
            return
        if low_number is not None and high_number is not None and high_number <= low_number:
            _add(problems, f"{here}.max", N_("The end must be above the start."))
            return
        if high_number is None and index != len(bins) - 1:
            _add(problems, f"{here}.max", N_("Only the last bin may be open at the top."))
            return
        previous = high_number


def _check_grades(grades: Any, problems: Problems) -> None:
    if not isinstance(grades, list) or not grades:
        _add(problems, "scorecard.grades", N_("Add at least one grade band."))
        return
    seen: set[int] = set()
    for index, band in enumerate(grades):
        place = f"scorecard.grades.{index}"
        if not isinstance(band, Mapping):
            _add(problems, place, N_("Send each grade band as an object."))
            continue
        _text(band, "grade", place, problems, 20)
        score = _integer(band, "min_score", place, problems)
        if score in seen:
            _add(problems, f"{place}.min_score", N_("Another band starts at this score."))
        seen.add(score)
        limit = _decimal(band.get("limit"))
        if limit is None or limit < 0 or limit != limit.quantize(Decimal("0.01")):
            _add(problems, f"{place}.limit", N_('Enter an amount as text, e.g. "50000.00".'))
        rate = _decimal(band.get("rate"))
        if rate is None or not Decimal(0) <= rate < Decimal(1) or rate != rate.quantize(RATE_STEP):
            _add(problems, f"{place}.rate", N_('Enter a yearly rate as text, e.g. "0.0850".'))
        if band.get("outcome", "pass") not in OUTCOMES:
            _add(problems, f"{place}.outcome", N_("Choose reject, refer or pass."))


def compile_policy(definition: Mapping[str, Any], kinds: Mapping[str, str]) -> Policy:
    """``definition`` (checked) as a ``Policy``. A rule whose expression no longer compiles
    (a field it names was removed since publishing) refers every application: a person looks
    rather than a broken rule passing them."""
    rules = tuple(_rule(r, kinds) for r in definition.get("rules") or [])
    scorecard = definition.get("scorecard") or {}
    variables = tuple(
        Variable(
            v["key"],
            tuple(
                Bin(_decimal(b.get("min")), _decimal(b.get("max")), int(b["points"]))
                for b in v["bins"]
            ),
            int(v.get("missing_points", 0)),
        )
        for v in scorecard.get("variables") or []
    )
    grades = sorted(
        (
            Grade(
                g["grade"],
                int(g["min_score"]),
                Decimal(g["limit"]),
                Decimal(g["rate"]),
                g.get("outcome", "pass"),
            )
            for g in scorecard.get("grades") or []
        ),
        key=lambda g: -g.min_score,
    )
    return Policy(rules, variables, int(scorecard.get("base", 0)), tuple(grades))


def _rule(rule: Mapping[str, Any], kinds: Mapping[str, str]) -> Rule:
    try:
        expression = compile_expression(rule["expression"], kinds)
        outcome = rule["outcome"]
    except ExpressionError:
        expression, outcome = compile_expression("true", {}), "refer"
    return Rule(
        rule["key"],
        outcome,
        rule["reason_code"],
        rule["reason_zh"],
        rule["reason_en"],
        expression,
    )
