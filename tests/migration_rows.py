"""Rows written straight into an old schema for migration tests: any value of the declared type
in each required column, so a test states only the values that matter to it."""

from __future__ import annotations

import secrets
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
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
