"""Rows written straight into an old schema for migration tests: any value of the declared type
in each required column, so a test states only the values that matter to it."""

from __future__ import annotations

import re
import secrets
import sqlite3
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def filler(kind: str) -> object:
    """A value of the column's declared SQLite type (what the test does not state)."""
    kind = kind.upper()
    if "INT" in kind or "BOOL" in kind:
        return 1
    if "NUMERIC" in kind or "DECIMAL" in kind:
        return "100.00"
    return "{}" if "JSON" in kind else "x"


def insert_row(db: sqlite3.Connection, table: str, given: dict[str, object]) -> str:
    """A row of ``table`` with ``given`` values, each required foreign key to the first row of
    the table it names, and any value of the declared type in the other required columns."""
    columns = list(db.execute(f"PRAGMA table_info({table})"))
    required = {name for _, name, _, notnull, default, _ in columns if notnull and default is None}
    parents = {
        source: db.execute(f"SELECT id FROM {target} LIMIT 1").fetchone()[0]
        for _, _, target, source, *_ in db.execute(f"PRAGMA foreign_key_list({table})")
        if source in required and source != "tenant_id"
    }
    row = {"id": uuid.uuid4().hex, **parents, **given}
    for _, name, kind, *_ in columns:
        if name in required and name not in row:
            row[name] = filler(kind)
    holes = ", ".join("?" for _ in row)
    db.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({holes})", list(row.values()))
    return str(row["id"])


def insert_row_on(connection: Any, table: str, given: dict[str, object]) -> Any:
    """``insert_row`` through a SQLAlchemy connection, on any database (PostgreSQL's types and
    foreign keys read by reflection): set ``app.tenant_id`` first where row-level security is
    on. The new row's id."""
    found = sa.inspect(connection)
    columns = found.get_columns(table)
    required = {
        c["name"]
        for c in columns
        if not c["nullable"] and c.get("default") is None and c.get("autoincrement") is not True
    }
    row: dict[str, object] = {"id": uuid.uuid4()}
    for key in found.get_foreign_keys(table):
        for source, target in zip(key["constrained_columns"], key["referred_columns"], strict=True):
            if source in required and source != "tenant_id" and target == "id":
                parent = sa.text(f"SELECT id FROM {key['referred_table']} LIMIT 1")
                row[source] = connection.execute(parent).scalar_one()
    row.update(given)
    for column in columns:
        if column["name"] in required and column["name"] not in row:
            row[column["name"]] = _value_of(column["type"])
    typed = sa.table(table, *[sa.column(c["name"], c["type"]) for c in columns])
    connection.execute(sa.insert(typed).values(row))
    return row["id"]


def _value_of(kind: Any) -> object:
    if isinstance(kind, sa.Boolean):
        return True
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, sa.Numeric):
        return Decimal("100.00")
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 1, 1, tzinfo=UTC)
    if isinstance(kind, sa.Date):
        return date(2026, 1, 1)
    if isinstance(kind, sa.Uuid):
        return uuid.uuid4()
    if isinstance(kind, sa.JSON):
        return {}
    return "x"


@contextmanager
def fresh_postgresql(admin_url: str) -> Iterator[str]:
    """An empty database of its own owned by a role of its own (as a private install has):
    the owner's URL; both dropped after."""
    admin = sa.create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    suffix = secrets.token_hex(4)
    name, owner = f"ld_mig_{suffix}", f"ld_migown_{suffix}"
    with admin.connect() as c:
        c.execute(sa.text(f"CREATE ROLE {owner} LOGIN NOSUPERUSER"))
        c.execute(sa.text(f"CREATE DATABASE {name} OWNER {owner}"))
    try:
        base = make_url(admin_url)
        yield base.set(database=name, username=owner).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            c.execute(sa.text(f"DROP ROLE IF EXISTS {owner}"))
        admin.dispose()


# --- every table of an old schema ------------------------------------------------------------

Row = dict[str, Any]
# a table's own values for the k-th filler row of a tenant (None for tables without tenant_id)
Override = Callable[[int, Any], Row]
_ENUM = re.compile(r"^\(?\s*(\w+)\s+in\s*\(\s*'([^']*)'", re.IGNORECASE)


@dataclass
class Seeded:
    """What ``seed_every_table`` wrote: each table's rows as inserted, and its primary key."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    keys: dict[str, list[str]] = field(default_factory=dict)


def reflect(connection: Any) -> sa.MetaData:
    """The database's tables as they are (not as today's models describe them)."""
    metadata = sa.MetaData()
    with warnings.catch_warnings():  # expression-based and partial indexes: not needed here
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        metadata.reflect(connection)
    return metadata


def seed_every_table(
    connection: Any,
    tenants: Sequence[Any],
    *,
    per_tenant: int = 2,
    overrides: Mapping[str, Override] | None = None,
    skip: Sequence[str] = (),
) -> Seeded:
    """Filler rows in every table of the database as it is now (reflected): ``per_tenant``
    rows of each tenant in a tenant-owned table (one where ``tenant_id`` alone is unique, such
    as ``event_backlog``), ``per_tenant`` rows in a table of no tenant. Parents are inserted
    before children (NOT NULL foreign keys, in topological order) and the k-th child of a
    tenant points at the k-th parent row of that tenant; nullable foreign keys and nullable
    columns stay empty. Values follow the reflected type, unique within the table (the row's
    number in strings, integers, dates), or are the first value of a ``col in ('a', ...)``
    CHECK; what else a CHECK or a JSON shape needs comes from ``overrides[table](k, tenant)``
    (those of its columns that the table has at this schema). On PostgreSQL ``app.tenant_id``
    is set for each tenant's rows (row-level security)."""
    overrides = overrides or {}
    metadata = reflect(connection)
    postgres = connection.dialect.name == "postgresql"
    checks = {name: _enum_checks(connection, name) for name in metadata.tables if name not in skip}
    seeded = Seeded()
    for table in _parents_first(metadata, skip=("alembic_version", *skip)):
        seeded.keys[table.name] = [c.name for c in table.primary_key.columns]
        rows: list[Row] = []
        owners = list(tenants) if "tenant_id" in table.c else [None]
        count = 1 if _one_per_tenant(connection, table) else per_tenant
        number = 0
        for tenant in owners:
            if postgres and tenant is not None:
                connection.execute(
                    sa.text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)}
                )
            for k in range(count):
                given = overrides[table.name](k, tenant) if table.name in overrides else {}
                # an override may name columns that this schema has not (yet, or any more)
                given = {c: v for c, v in given.items() if c in table.c}
                row = _filler_row(table, tenant, number, k, given, checks[table.name], seeded)
                connection.execute(table.insert().values(row))
                rows.append(row)
                number += 1
        seeded.rows[table.name] = rows
    if postgres:
        connection.execute(sa.text("select set_config('app.tenant_id', '', true)"))
    return seeded


def _parents_first(metadata: sa.MetaData, skip: Sequence[str]) -> list[sa.Table]:
    """Tables with each after those its NOT NULL foreign keys name (nullable ones stay
    empty, so they order nothing and break the cycles of the schema)."""
    tables = {name: t for name, t in metadata.tables.items() if name not in skip}
    needs = {
        name: {
            fk.referred_table.name
            for fk in table.foreign_key_constraints
            if (
                fk.referred_table.name != name
                and any(not c.nullable and c.name != "tenant_id" for c in fk.columns)
            )
            or fk.referred_table.name == "tenants"
        }
        & set(tables)
        for name, table in tables.items()
    }
    ordered: list[sa.Table] = []
    while needs:
        ready = sorted(name for name, wanted in needs.items() if not wanted)
        if not ready:
            raise RuntimeError(f"NOT NULL foreign keys in a cycle: {sorted(needs)}")
        for name in ready:
            ordered.append(tables[name])
            del needs[name]
        for wanted in needs.values():
            wanted.difference_update(ready)
    return ordered


def _one_per_tenant(connection: Any, table: sa.Table) -> bool:
    found = sa.inspect(connection)
    uniques = [u["column_names"] for u in found.get_unique_constraints(table.name)]
    uniques += [i["column_names"] for i in found.get_indexes(table.name) if i["unique"]]
    pk = [c.name for c in table.primary_key.columns]
    return ["tenant_id"] in [*uniques, pk]


def _enum_checks(connection: Any, table: str) -> dict[str, str]:
    """``column -> the first value`` of each ``column in ('a', 'b')`` CHECK of ``table``."""
    values = {}
    for check in sa.inspect(connection).get_check_constraints(table):
        text = str(check["sqltext"]).replace("::text", "").replace("ANY (ARRAY[", "(")
        text = re.sub(r"\(\((\w+)\)", r"(\1", text)  # PostgreSQL's ((col)::text = ANY ...)
        text = re.sub(r"^\(?(\w+)\)?\s*=\s*\(", r"\1 in (", text)
        found = _ENUM.match(text.strip())
        if found:
            values[found.group(1)] = found.group(2)
    return values


def _filler_row(
    table: sa.Table,
    tenant: Any,
    number: int,
    k: int,
    given: Row,
    enums: dict[str, str],
    seeded: Seeded,
) -> Row:
    new_id = _uuid_value(table)
    row: Row = {}
    if tenant is not None:
        row["tenant_id"] = tenant
    for key in table.foreign_key_constraints:
        parent = key.referred_table.name
        pairs = [
            (c.name, e.column.name)
            for c, e in zip(key.columns, key.elements, strict=True)
            if c.name != "tenant_id"
        ]
        if not pairs or parent == table.name or any(c in given for c, _ in pairs):
            continue
        if all(table.c[c].nullable for c, _ in pairs):
            continue
        if parent == "tenants":
            row.update({c: tenant for c, _ in pairs})
            continue
        candidates = [
            r
            for r in seeded.rows.get(parent, [])
            if tenant is None or r.get("tenant_id", tenant) == tenant
        ]
        if not candidates:
            raise RuntimeError(f"{table.name}: no {parent} row to point at for {tenant}")
        chosen = candidates[k % len(candidates)]
        row.update({c: chosen[p] for c, p in pairs})
    row.update(given)
    for column in table.columns:
        name = column.name
        if name in row:
            continue
        if name == "id" and column.primary_key and not isinstance(column.type, sa.Integer):
            row[name] = new_id()
        elif name in enums:
            row[name] = enums[name]
        elif not column.nullable and column.server_default is None:
            if column.primary_key and column.autoincrement is True:
                continue
            row[name] = _typed_filler(column, number, new_id)
    return row


def _uuid_value(table: sa.Table) -> Callable[[], Any]:
    """A new id as the table's id column stores it (a UUID on PostgreSQL, hex on SQLite)."""
    kind = table.c["id"].type if "id" in table.c else None
    if isinstance(kind, sa.Uuid) and not isinstance(kind, sa.CHAR):
        return uuid.uuid4
    return lambda: uuid.uuid4().hex


def _typed_filler(column: sa.Column[Any], number: int, new_uuid: Callable[[], Any]) -> object:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return number + 1
    if isinstance(kind, sa.Numeric):
        return Decimal(number + 1)
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=number)
    if isinstance(kind, sa.Date):
        return date(2026, 1, 1) + timedelta(days=number)
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.LargeBinary):
        return b"x"
    if isinstance(kind, sa.Uuid) or (isinstance(kind, sa.CHAR) and kind.length == 32):
        return new_uuid()
    length = getattr(kind, "length", None) or 40
    suffix = str(number)
    return f"{column.name[: max(length - len(suffix), 0)]}{suffix}"[:length]


@contextmanager
def fresh_postgresql_roles(admin_url: str) -> Iterator[tuple[str, str]]:
    """``fresh_postgresql`` with the app's role too (NOSUPERUSER NOBYPASSRLS, owning nothing),
    as a production install has: the owner's URL and the app's; all dropped after."""
    admin = sa.create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    app_role = f"ld_migapp_{secrets.token_hex(4)}"
    with admin.connect() as c:
        c.execute(sa.text(f"CREATE ROLE {app_role} LOGIN NOSUPERUSER NOBYPASSRLS"))
    try:
        with fresh_postgresql(admin_url) as owner_url:
            app_url = make_url(owner_url).set(username=app_role)
            try:
                yield owner_url, app_url.render_as_string(hide_password=False)
            finally:
                database = make_url(owner_url).database
                with admin.connect() as c:  # the grants in it go with the database
                    c.execute(sa.text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f"DROP ROLE IF EXISTS {app_role}"))
        admin.dispose()
