"""Filtering and sorting records by custom fields.

A custom value lives in the record's ``custom`` JSON column. ``value_expression`` is the SQL
for one field's value: ``custom ->> 'key'`` (cast to ``numeric`` for numbers; an encrypted kind
compares its keyed hash ``custom -> 'key' ->> 'h'``); sorting uses it, and so do filters on
SQLite and on fields that are not searchable. On PostgreSQL a filter on a searchable field
goes through its search rows instead (``loandesk.fields.search_values``): an index scan even
under row-level security, which an expression index on the JSON column cannot give the app.
The key is a literal in the SQL (keys are ``[a-z][a-z0-9_]*``, checked on definition).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Numeric, cast, exists, func, literal, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from loandesk.fields import search_values
from loandesk.fields.registry import (
    ENCRYPTED_KINDS,
    KEY_PATTERN,
    NUMERIC_KINDS,
    FieldSpec,
)


def _check_key(key: str) -> str:
    if not KEY_PATTERN.match(key):  # never interpolate anything else into SQL
        raise ValueError(f"bad field key {key!r}")
    return key


def numeric(spec: FieldSpec) -> bool:
    return spec.value_kind in NUMERIC_KINDS and not spec.encrypted


def sql_expression(spec: FieldSpec, dialect: str, column: str = "custom") -> str:
    """The SQL text of a custom field's comparable value (as the index holds it)."""
    key = _check_key(spec.key)
    if dialect == "postgresql":
        value = f"({column} -> '{key}' ->> 'h')" if spec.encrypted else f"({column} ->> '{key}')"
        return f"({value}::numeric)" if numeric(spec) else value
    path = f"'$.{key}.h'" if spec.encrypted else f"'$.{key}'"
    value = f"json_extract({column}, {path})"
    return f"CAST({value} AS NUMERIC)" if numeric(spec) else value


def value_expression(model: Any, spec: FieldSpec, dialect: str) -> ColumnElement[Any]:
    """A SQLAlchemy expression for the value of custom field ``spec`` of ``model``'s rows."""
    table = model.__table__.name
    expression: ColumnElement[Any] = literal_column(
        sql_expression(spec, dialect, f"{table}.custom")
    )
    if numeric(spec):
        return cast(expression, Numeric) if dialect != "postgresql" else expression
    return expression


def filter_clause(
    model: Any, spec: FieldSpec, op: str, value: Any, dialect: str, keys: Any = None
) -> ColumnElement[bool]:
    """A WHERE clause on custom field ``spec``: ``op`` is eq, ne, lt, le, gt, ge, contains,
    in, empty, not_empty; ``value`` is already parsed (``loandesk.fields.values.parse``).
    Encrypted kinds support eq only (by keyed hash)."""
    from loandesk.fields.values import to_json

    if dialect == "postgresql" and spec.searchable and op in search_values.OPERATORS:
        # an index scan under row-level security (see loandesk.fields.search_values)
        return search_values.clause(model, spec, op, value, keys)
    expression = value_expression(model, spec, dialect)
    if op == "empty":
        return expression.is_(None)
    if op == "not_empty":
        return expression.is_not(None)
    if spec.encrypted:
        digest = keys.search_hash(spec.kind, str(value)) if keys is not None else None
        return expression == (digest or "-")
    if op == "in":
        return expression.in_([_comparable(spec, v, to_json, dialect) for v in value])
    if spec.kind == "multi_select" and op in ("eq", "contains"):
        table = model.__table__.name
        key = _check_key(spec.key)
        if dialect == "postgresql":
            return literal_column(f"{table}.custom -> '{key}'").op("@>")(
                literal_column(_json_literal([value]) + "::jsonb")
            )
        items = func.json_each(literal_column(f"{table}.custom"), f"$.{key}").table_valued("value")
        return exists(select(literal(1)).select_from(items).where(items.c.value == value))
    compared = _comparable(spec, value, to_json, dialect)
    if op == "contains":
        return expression.contains(str(value), autoescape=True)
    operators = {
        "eq": expression.__eq__,
        "ne": expression.__ne__,
        "lt": expression.__lt__,
        "le": expression.__le__,
        "gt": expression.__gt__,
        "ge": expression.__ge__,
    }
    return operators[op](compared)


def _comparable(spec: FieldSpec, value: Any, to_json: Any, dialect: str) -> Any:
    from decimal import Decimal

    if numeric(spec):
        if spec.value_kind == "money":  # stored as 分
            return Decimal(str(value)) * 100
        return Decimal(str(value))
    if isinstance(value, bool):  # ->> gives 'true'; SQLite's json_extract gives 1
        return ("true" if value else "false") if dialect == "postgresql" else int(value)
    return to_json(spec, value, encrypt=lambda v: {"c": "", "h": ""})


def _json_literal(value: Any) -> str:
    import json

    return "'" + json.dumps(value, ensure_ascii=False).replace("'", "''") + "'"


__all__ = [
    "ENCRYPTED_KINDS",
    "filter_clause",
    "sql_expression",
    "value_expression",
]
