"""The one safe expression language: names and types checked when an expression is saved,
regular expressions refused, numbers exact."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from loandesk.expressions import MAX_LENGTH, ExpressionError, compile_expression

KINDS = {"loan_purpose": "select", "amount": "money", "term": "integer", "signed_on": "date"}


def test_a_condition_over_fields_holds_or_not() -> None:
    condition = compile_expression('loan_purpose == "car" and amount >= 10000', KINDS)
    assert condition.names == {"loan_purpose", "amount"}
    assert condition.holds({"loan_purpose": "car", "amount": Decimal("10000.00")})
    assert not condition.holds({"loan_purpose": "car", "amount": Decimal("9999.99")})
    assert not condition.holds({})  # empty fields: the condition does not hold


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("purpose == 'car'", "No field is called purpose."),
        ('loan_purpose =~ "c.*"', "Regular-expression operators (=~, !~) are not allowed."),
        ('loan_purpose !~~ "c"', "Regular-expression operators (=~, !~) are not allowed."),
        ('amount > "many"', "The types do not fit"),
        ("amount >", "This is not a valid expression"),
        ("", "Enter an expression."),
        ("amount > 1 " + "and amount > 1 " * 40, f"Use at most {MAX_LENGTH} characters."),
    ],
)
def test_bad_expressions_are_refused_when_saved(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as refused:
        compile_expression(text, KINDS)
    assert str(refused.value).startswith(message)


def test_a_regex_operator_inside_a_string_is_just_text() -> None:
    assert compile_expression('loan_purpose == "=~"', KINDS).holds({"loan_purpose": "=~"})


def test_arithmetic_is_exact_and_a_null_gives_no_value() -> None:
    formula = compile_expression("amount / term", KINDS)
    assert formula.evaluate({"amount": Decimal("10000.00"), "term": 3}) == Decimal(
        "3333.333333333333333333333333"
    )
    assert compile_expression("amount + 0.1", KINDS).evaluate(
        {"amount": Decimal("0.2")}
    ) == Decimal("0.3")
    assert formula.evaluate({"amount": None, "term": 3}) is None
    assert formula.evaluate({"amount": Decimal(1), "term": 0}) is None  # division by zero


def test_dates_compare_with_date_literals() -> None:
    late = compile_expression('signed_on > d"2026-06-30"', KINDS)
    assert late.holds({"signed_on": date(2026, 7, 1)})
    assert not late.holds({"signed_on": date(2026, 6, 30)})
