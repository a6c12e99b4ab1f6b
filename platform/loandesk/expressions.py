"""The one safe expression language (DESIGN §4): conditions of fields, flows and automations
and the formulas of computed fields are `rule-engine`_ expressions over a record's fields.

An expression is compiled against the fields it may name, with their types, so an unknown or
mistyped name is refused when an admin saves it, not when a borrower's application meets it.
Regular-expression operators are refused (a pattern can backtrack catastrophically) and so is
anything longer than ``MAX_LENGTH``. Numbers are ``Decimal`` throughout: money never passes
through a float.

.. _rule-engine: https://zeroSteiner.github.io/rule-engine/
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache
from typing import Any

from loandesk.i18n import N_

MAX_LENGTH = 500
# Outside string literals: =~ =~~ !~ !~~ (regular-expression match operators).
_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_REGEX_OPERATORS = re.compile(r"[=!]~")


@cache
def _engine() -> Any:
    """rule_engine, imported on first use: importing it builds its parser tables (most of a
    second on a busy machine), which every worker, scheduler and CLI process would pay at
    start whether or not it ever compiles an expression."""
    import rule_engine

    return rule_engine


@cache
def _types() -> dict[str, Any]:
    data_type = _engine().DataType
    return {
        "integer": data_type.FLOAT,
        "decimal": data_type.FLOAT,
        "money": data_type.FLOAT,
        "percent": data_type.FLOAT,
        "boolean": data_type.BOOLEAN,
        "date": data_type.DATETIME,
        "datetime": data_type.DATETIME,
        "multi_select": data_type.ARRAY(data_type.STRING),
    }


class ExpressionError(ValueError):
    """An expression that cannot be used; ``message`` is for the admin who wrote it (English,
    with ``params`` for translation)."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


def data_type(kind: str) -> Any:
    """The rule-engine type of a value of ``kind`` (every other kind is a string)."""
    return _types().get(kind, _engine().DataType.STRING)


@dataclass(frozen=True)
class Expression:
    text: str
    names: frozenset[str]
    _rule: Any

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """The expression's value over ``values`` (field key -> value; a missing field is
        null). An error at run time (a null in arithmetic) gives None rather than raising:
        a condition that cannot be decided does not hold, a formula that cannot be computed is
        empty."""
        context = {name: _value(values.get(name)) for name in self.names}
        try:
            result = self._rule.evaluate(context)
        except (_engine().errors.EngineError, ArithmeticError, TypeError):
            return None
        return result

    def holds(self, values: Mapping[str, Any]) -> bool:
        return self.evaluate(values) is True


def compile_expression(text: str, kinds: Mapping[str, str]) -> Expression:
    """``text`` compiled against the fields ``kinds`` (key -> field kind); ``ExpressionError``
    naming what is wrong otherwise."""
    text = text.strip()
    if not text:
        raise ExpressionError(N_("Enter an expression."))
    if len(text) > MAX_LENGTH:
        raise ExpressionError(N_("Use at most %(limit)s characters."), limit=MAX_LENGTH)
    if _REGEX_OPERATORS.search(_STRINGS.sub("''", text)):
        raise ExpressionError(N_("Regular-expression operators (=~, !~) are not allowed."))
    rule_engine = _engine()
    used: set[str] = set()

    def resolve(name: str) -> Any:
        if name not in kinds:
            raise rule_engine.errors.SymbolResolutionError(name)
        used.add(name)
        return data_type(kinds[name])

    context = rule_engine.Context(type_resolver=resolve, default_timezone=UTC)
    try:
        rule = rule_engine.Rule(text, context=context)
    except rule_engine.errors.SymbolResolutionError as problem:
        raise ExpressionError(
            N_("No field is called %(name)s."), name=problem.symbol_name
        ) from None
    except rule_engine.errors.EvaluationError as problem:  # type mismatch found at parse time
        raise ExpressionError(
            N_("The types do not fit: %(detail)s"), detail=problem.message
        ) from None
    except rule_engine.errors.RuleSyntaxError as problem:
        raise ExpressionError(
            N_("This is not a valid expression: %(detail)s"), detail=problem.message
        ) from None
    except rule_engine.errors.EngineError as problem:
        raise ExpressionError(
            N_("This is not a valid expression: %(detail)s"), detail=str(problem)
        ) from None
    return Expression(text, frozenset(used), rule)


def _value(value: Any) -> Any:
    """A field value as rule-engine takes it: numbers as Decimal, dates as aware datetimes,
    multi selects as tuples."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    if isinstance(value, list):
        return tuple(value)
    return value


def plain(value: Any) -> Any:
    """A result of ``evaluate`` as a field value: whole-day datetimes stay datetimes (the
    computed field's kind decides), tuples become lists."""
    if isinstance(value, tuple):
        return list(value)
    return value
