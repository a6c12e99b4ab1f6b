"""The evaluator without a database: outcome precedence, bins at their edges, missing
values, grade bands that refer, and a rule broken by a removed field."""

from __future__ import annotations

from decimal import Decimal

from loandesk_risk import policy

from tests.plugins.risk.conftest import SCORECARD, rule

KINDS = {"amount": "money", "term_months": "integer", "loan_purpose": "select"}


def _decide(definition: dict[str, object], **values: object) -> policy.Outcome:
    assert policy.check(definition, KINDS) == {}
    return policy.compile_policy(definition, KINDS).decide(values)


def test_any_reject_rejects_else_any_refer_refers() -> None:
    rules = [
        rule("big", "amount > 100000", "reject"),
        rule("long", "term_months > 24", "refer"),
        rule("car", 'loan_purpose == "car"', "pass"),
    ]
    definition = {"rules": rules}
    assert _decide(definition, amount=Decimal("1"), term_months=12).decision == "auto_approve"
    car = _decide(definition, amount=Decimal("1"), term_months=12, loan_purpose="car")
    assert (car.decision, [h["key"] for h in car.hits]) == ("auto_approve", ["car"])
    assert _decide(definition, amount=Decimal("1"), term_months=36).decision == "refer"
    both = _decide(definition, amount=Decimal("100000.01"), term_months=36)
    assert (both.decision, [h["outcome"] for h in both.hits]) == (
        "auto_reject",
        ["reject", "refer"],
    )
    # a rule over a missing value does not hold
    assert _decide(definition, term_months=12).hits == []


def test_bins_take_their_lower_edge_and_missing_values_their_points() -> None:
    card = {**SCORECARD, "variables": [dict(SCORECARD["variables"][0], missing_points=-5)]}  # type: ignore[call-overload]
    definition = {"rules": [], "scorecard": card}
    edge = _decide(definition, amount=Decimal("20000.00"))
    assert (edge.scores[0]["bin"], edge.scores[0]["points"], edge.total) == (
        "[20000, 100000)",
        20,
        30,
    )
    below = _decide(definition, amount=Decimal("19999.99"))
    assert (below.scores[0]["bin"], below.total) == ("[, 20000)", 50)
    missing = _decide(definition)
    assert (missing.scores[0]["bin"], missing.total, missing.grade) == (None, 5, "C")
    # grade C refers on its own; its suggestion is exact
    assert (missing.decision, missing.limit, missing.rate) == (
        "refer",
        Decimal("0.00"),
        Decimal("0.2400"),
    )
    top = _decide(definition, amount=Decimal("100"))
    assert (top.total, top.grade, top.decision) == (50, "B", "auto_approve")


def test_a_rule_naming_a_removed_field_refers() -> None:
    definition = {"rules": [rule("purpose", 'loan_purpose == "car"', "reject")]}
    compiled = policy.compile_policy(definition, {"amount": "money"})
    decided = compiled.decide({"amount": Decimal("1")})
    assert (decided.decision, decided.hits[0]["outcome"]) == ("refer", "refer")


def test_floats_are_refused_for_bins_and_money() -> None:
    card = {
        "variables": [{"key": "amount", "bins": [{"min": None, "max": 20000.0, "points": 1}]}],
        "grades": [{"grade": "A", "min_score": 0, "limit": "100.001", "rate": 0.1}],
    }
    problems = policy.check({"scorecard": card}, KINDS)
    assert sorted(problems) == [
        "scorecard.grades.0.limit",
        "scorecard.grades.0.rate",
        "scorecard.variables.0.bins.0.max",
    ]
