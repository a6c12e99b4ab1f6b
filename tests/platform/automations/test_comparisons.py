"""Plain comparisons decided without the expression engine give the engine's answer: every
condition below, for every combination of values (nulls, missing fields, ints for Decimals,
values of the wrong type, NaN), and the engine is not asked when the values are plain."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from loandesk.automations.comparisons import decider
from loandesk.expressions import Expression, compile_expression

KINDS = {
    "status": "select",
    "loan_number": "text",
    "amount": "money",
    "period": "integer",
    "due_date": "date",
    "paid": "boolean",
}
PLAIN = (
    'status == "due"',
    'status != "due"',
    'status == "due" and amount >= 10000',
    'status == "due" and period <= 3 and amount >= 10000.5',
    'not (amount < 500) or status == "paid"',
    'not status == "due"',
    "amount >= -5",
    "10000 <= amount",
    "period == amount",
    'loan_number < "JJ5" and period > 1',
    "amount == 2741.670",
)
NOT_PLAIN = (
    'due_date > d"2026-01-01"',
    "paid == true",
    "amount + 1 > 5",
    'status in ["due", "paid"]',
    "loan_number.length > 3",
    "status == 1",
    'amount >= 10000 and due_date < d"2027-01-01"',
)
VALUES: dict[str, tuple[Any, ...]] = {
    "status": ("due", "paid", None, 1, uuid.UUID(int=7)),
    "loan_number": ("JJ1", "JJ9", None),
    "amount": (Decimal("10000"), Decimal("10000.50"), 10000, 2741.67, None, True,
               Decimal("NaN"), "10000", Decimal("-5")),
    "period": (1, 3, 4, Decimal("3"), None, True),
}  # fmt: skip
MISSING = object()


def _records() -> list[dict[str, Any]]:
    keys = list(VALUES)
    combos = itertools.product(*(VALUES[k] + (MISSING,) for k in keys))
    return [
        {k: v for k, v in zip(keys, combo, strict=True) if v is not MISSING} for combo in combos
    ]


class Counting(Expression):
    """The expression, counting how often the engine decides it."""

    asked: list[int]

    def holds(self, values: Mapping[str, Any]) -> bool:
        self.asked.append(1)
        return super().holds(values)


def _counting(text: str) -> Counting:
    compiled = compile_expression(text, KINDS)
    counting = Counting(compiled.text, compiled.names, compiled._rule)
    object.__setattr__(counting, "asked", [])
    return counting


@pytest.mark.parametrize("text", PLAIN + NOT_PLAIN)
def test_the_answer_is_the_engines(text: str) -> None:
    expression = compile_expression(text, KINDS)
    decide = decider(expression, KINDS)
    for values in _records():
        assert decide(values) is expression.holds(values), values


@pytest.mark.parametrize("text", PLAIN)
def test_plain_values_do_not_go_to_the_engine(text: str) -> None:
    counting = _counting(text)
    decide = decider(counting, KINDS)
    plain = {"status": "due", "loan_number": "JJ9", "amount": Decimal("20000"), "period": 2}
    for values in (plain, {**plain, "amount": 20000}, {**plain, "period": Decimal("2")}):
        decide(values)
    assert counting.asked == []
    decide(dict.fromkeys(plain))  # nulls: the engine decides
    assert counting.asked == [1]


@pytest.mark.parametrize("text", NOT_PLAIN)
def test_other_conditions_go_to_the_engine(text: str) -> None:
    counting = _counting(text)
    decider(counting, KINDS)({"status": "due", "amount": Decimal("20000"), "period": 2})
    assert counting.asked == [1]
