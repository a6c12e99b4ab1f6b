"""Conditions decided without the expression engine when they are plain comparisons: fields
against literals or other fields (``status == "due" and amount >= 10000``), joined by and,
or and not. A time-relative run decides every rule for every record due that day — 10,000
rules over a day's installments are millions of decisions, and rule-engine takes some 20 µs
for each; the same comparison as a Python function takes well under one.

The answer is always the engine's: only text and number fields are compared here, and only
when every field the condition names holds a value of its kind (a ``str``; an ``int`` or a
finite ``Decimal``, compared as ``Decimal`` as the engine does); a record with a null or an
unexpected value there, and any condition that is not plain, is decided by
``Expression.holds``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import rule_engine
from rule_engine import DataType, ast

from loandesk.expressions import Expression, data_type

Decide = Callable[[Mapping[str, Any]], bool]
_COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


class _NotPlain(Exception):
    pass


def decider(expression: Expression, kinds: Mapping[str, str]) -> Decide:
    """What decides ``expression`` (compiled against ``kinds``) for a record's values: a
    plain Python function where it can, ``expression.holds`` where it cannot."""
    types = {name: data_type(kinds[name]) for name in expression.names}
    if any(t not in (DataType.STRING, DataType.FLOAT) for t in types.values()):
        return expression.holds
    try:
        plain = _node(rule_engine.Rule(expression.text).statement.expression, types)
    except _NotPlain:
        return expression.holds
    names = tuple((name, t == DataType.STRING) for name, t in types.items())

    def decide(values: Mapping[str, Any]) -> bool:
        for name, text in names:
            value = values.get(name)
            if not (type(value) is str if text else _number(value)):
                return expression.holds(values)
        return plain(values)

    return decide


def _number(value: Any) -> bool:
    return type(value) is int or (type(value) is Decimal and value.is_finite())


def _node(node: Any, types: Mapping[str, Any]) -> Decide:
    if isinstance(node, ast.LogicExpression) and node.type in ("and", "or"):
        left, right = _node(node.left, types), _node(node.right, types)
        if node.type == "and":
            return lambda values: left(values) and right(values)
        return lambda values: left(values) or right(values)
    if isinstance(node, ast.UnaryExpression) and node.type == "not":
        inner = _node(node.right, types)
        return lambda values: not inner(values)
    if isinstance(node, ast.ComparisonExpression) and node.type in _COMPARE:
        return _comparison(_COMPARE[node.type], node.left, node.right, types)
    raise _NotPlain


def _comparison(compare: Any, left: Any, right: Any, types: Mapping[str, Any]) -> Decide:
    """A field against a literal or another field of the same type (an int against a
    Decimal compares exactly)."""
    (left_name, left_value, left_type), (right_name, right_value, right_type) = (
        _operand(left, types),
        _operand(right, types),
    )
    if left_type != right_type:
        raise _NotPlain
    if left_name is not None and right_name is not None:
        first, second = left_name, right_name
        return lambda values: compare(values[first], values[second])
    if left_name is not None:
        field, literal = left_name, right_value
        return lambda values: compare(values[field], literal)
    if right_name is not None:
        field, literal = right_name, left_value
        return lambda values: compare(literal, values[field])
    raise _NotPlain


def _operand(node: Any, types: Mapping[str, Any]) -> tuple[str | None, Any, Any]:
    """A comparison's side: the field it names or the literal it is, and its type."""
    if isinstance(node, ast.SymbolExpression) and node.scope is None and node.name in types:
        return node.name, None, types[node.name]
    if isinstance(node, ast.StringExpression) and isinstance(node.value, str):
        return None, node.value, DataType.STRING
    if (
        isinstance(node, ast.FloatExpression)
        and isinstance(node.value, Decimal)
        and node.value.is_finite()
    ):
        return None, node.value, DataType.FLOAT
    raise _NotPlain
