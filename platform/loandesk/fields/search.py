"""Filtering and sorting records by custom fields, and the PostgreSQL indexes that make it fast.

A custom value lives in the record's ``custom`` JSON column. ``value_expression`` is the SQL
for one field's value: ``custom ->> 'key'`` (cast to ``numeric`` for numbers; an encrypted kind
compares its keyed hash ``custom -> 'key' ->> 'h'``). When a published field is searchable,
``sync_indexes`` creates the expression index ``(tenant_id, <that expression>)`` on PostgreSQL,
named after the table and the key, shared by every tenant with a searchable field of that key
and kind, and drops indexes no tenant needs any more. The key is a literal in the SQL (keys are
``[a-z][a-z0-9_]*``, checked on definition) so that the planner can match the index.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Numeric, cast, exists, func, literal, literal_column, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from loandesk.fields.registry import (
    ENCRYPTED_KINDS,
    KEY_PATTERN,
    NUMERIC_KINDS,
    FieldSpec,
    RecordType,
)

log = logging.getLogger(__name__)
INDEX_PREFIX = "ix_cf_"


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


def index_name(table: str, spec: FieldSpec) -> str:
    kind = "n" if numeric(spec) else ("h" if spec.encrypted else "t")
    name = f"{INDEX_PREFIX}{table}_{spec.key}_{kind}"
    if len(name) > 63:  # PostgreSQL's identifier limit
        digest = hashlib.sha256(name.encode()).hexdigest()[:10]
        name = f"{INDEX_PREFIX}{table[:30]}_{digest}_{kind}"
    return name


def wanted_indexes(connection: Connection, record_types: Iterable[RecordType]) -> dict[str, str]:
    """Index name -> CREATE INDEX statement, for every searchable field of every tenant's
    latest published form (read across tenants: run with the owner role)."""
    from loandesk.fields.forms import spec_of

    by_key = {t.key: t for t in record_types}
    # form_versions is under FORCE ROW LEVEL SECURITY, for its owner too: read each tenant's
    # rows with that tenant set (transaction-local), as the app does.
    rows: list[Any] = []
    for (tenant_id,) in connection.execute(text("select id from tenants")).all():
        connection.execute(
            text("select set_config('app.tenant_id', :tenant, true)"), {"tenant": str(tenant_id)}
        )
        rows += connection.execute(
            text(
                "select fv.record_type, fv.layout from form_versions fv where fv.number = ("
                " select max(number) from form_versions o"
                " where o.tenant_id = fv.tenant_id and o.record_type = fv.record_type)"
            )
        ).all()
    connection.execute(text("select set_config('app.tenant_id', '', true)"))
    wanted: dict[str, str] = {}
    for record_type_key, layout in rows:
        record_type = by_key.get(record_type_key)
        if record_type is None:
            continue
        if isinstance(layout, str):
            import json

            layout = json.loads(layout)
        table = record_type.model.__table__.name  # type: ignore[attr-defined]
        for data in layout.get("fields", ()):
            if not data.get("searchable"):
                continue
            spec = spec_of(data)
            name = index_name(table, spec)
            wanted[name] = (
                f"create index if not exists {name} on {table} "
                f"(tenant_id, {sql_expression(spec, 'postgresql')})"
            )
    return wanted


def sync_indexes(engine: Engine, record_types: Iterable[RecordType]) -> tuple[list[str], list[str]]:
    """Create the custom-field indexes that searchable fields need and drop the ones none
    needs; returns (created, dropped). PostgreSQL only (SQLite scans are fast enough at the
    sizes an embedded install holds)."""
    if engine.dialect.name != "postgresql":
        return [], []
    types = list(record_types)
    tables = {t.model.__table__.name for t in types}  # type: ignore[attr-defined]
    with engine.connect() as connection:
        wanted = wanted_indexes(connection, types)
        existing = {
            name
            for (name,) in connection.execute(
                text(
                    "select indexname from pg_indexes where schemaname = current_schema()"
                    " and indexname like :prefix"
                ),
                {"prefix": INDEX_PREFIX + "%"},
            )
        }
    created, dropped = [], []
    # CREATE INDEX CONCURRENTLY cannot run in a transaction: autocommit, one statement each,
    # so writes to the table go on while a large table is indexed.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for name, statement in sorted(wanted.items()):
            if name not in existing:
                connection.execute(
                    text(statement.replace("create index", "create index concurrently", 1))
                )
                created.append(name)
        for name in sorted(existing - set(wanted)):
            if any(name.startswith(f"{INDEX_PREFIX}{t}") for t in tables):
                connection.execute(text(f"drop index concurrently if exists {name}"))
                dropped.append(name)
    if created or dropped:
        log.info("custom field indexes: created %s, dropped %s", created, dropped)
    return created, dropped


def schedule_index_sync(session: Session) -> None:
    """Ask for ``sync_indexes`` after this transaction commits (a platform job, owner role).
    Not before: on SQLite the jobs table is written on another connection, which waits for
    this transaction's lock; and there are no indexes to sync on SQLite anyway."""
    from sqlalchemy import event

    from loandesk.jobs.runtime import enqueue

    if session.get_bind().dialect.name != "postgresql":
        return
    event.listen(
        session, "after_commit", lambda _s: enqueue("core.sync_field_indexes", None), once=True
    )


def filter_clause(
    model: Any, spec: FieldSpec, op: str, value: Any, dialect: str, keys: Any = None
) -> ColumnElement[bool]:
    """A WHERE clause on custom field ``spec``: ``op`` is eq, ne, lt, le, gt, ge, contains,
    in, empty, not_empty; ``value`` is already parsed (``loandesk.fields.values.parse``).
    Encrypted kinds support eq only (by keyed hash)."""
    from loandesk.fields.values import to_json

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
    "index_name",
    "schedule_index_sync",
    "sql_expression",
    "sync_indexes",
    "value_expression",
]
