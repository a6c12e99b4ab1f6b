"""Rows written straight into an old schema for migration tests: any value of the declared type
in each required column, so a test states only the values that matter to it."""

from __future__ import annotations

import sqlite3
import uuid


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
