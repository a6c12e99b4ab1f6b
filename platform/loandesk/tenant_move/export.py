"""``export_tenant``: every row of one tenant, and its uploaded files, into an archive."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import loandesk
from loandesk.db import make_engine
from loandesk.storage import NotStored, Storage, StorageError
from loandesk.tenant_move.archive import (
    FORMAT,
    KIND,
    MoveError,
    Writer,
    encode,
    kind_of,
    select_expression,
)
from loandesk.tenant_move.schema import (
    TENANTS,
    TenantTable,
    global_references,
    heads,
    tenant_setting,
    tenant_tables,
    undeclared_rows,
)

BATCH = 2000


@dataclass
class Exported:
    tenant_id: uuid.UUID
    slug: str
    tables: dict[str, int] = field(default_factory=dict)
    files: int = 0
    sha256: str = ""  # of the archive

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def export_tenant(
    metadata: sa.MetaData, url: str, store: Storage, slug: str, target: Path
) -> Exported:
    """Write tenant ``slug``'s archive to ``target`` (aside first, renamed when complete).

    The rows are read in one transaction (on PostgreSQL a repeatable-read snapshot with the
    tenant set for row-level security), so they are consistent however busy the tenant is."""
    target = Path(target)
    engine = make_engine(url)
    partial = target.with_name(f".{target.name}.partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with engine.connect() as plain:
            connection = plain
            if plain.dialect.name == "postgresql":
                connection = plain.execution_options(isolation_level="REPEATABLE READ")
            elif plain.dialect.name == "sqlite":
                # the driver begins a transaction only before a write: one read snapshot
                plain.exec_driver_sql("BEGIN")
            try:
                outcome = _write(metadata, connection, store, slug, partial)
            finally:
                connection.rollback()  # read only
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        engine.dispose()
    outcome.sha256 = _sha256(target)
    return outcome


def _write(
    metadata: sa.MetaData, connection: sa.Connection, store: Storage, slug: str, path: Path
) -> Exported:
    tenants = metadata.tables[TENANTS]
    tenant = connection.execute(sa.select(tenants).where(tenants.c.slug == slug)).mappings().first()
    if tenant is None:
        raise MoveError(f"no tenant {slug!r} in this database")
    tenant_id = tenant["id"]
    tenant_setting(connection, tenant_id)
    tables = tenant_tables(metadata, connection)
    undeclared = undeclared_rows(metadata, connection, tenant_id)
    if undeclared:
        raise MoveError(
            f"tables that no installed plugin declares hold rows of {slug}: {undeclared}; "
            "install the plugins they belong to and export again"
        )
    outcome = Exported(tenant_id, slug)
    wanted = _GlobalKeys(metadata)
    writer = Writer(path)
    try:
        whole = TenantTable(tenants, _kinds(tenants))
        outcome.tables[TENANTS] = writer.rows(
            TENANTS, wanted.noting(whole, _read(connection, whole, tenants.c.id == tenant_id))
        )
        for table in tables:
            rows = _read(connection, table, table.table.c.tenant_id == tenant_id)
            outcome.tables[table.name] = writer.rows(table.name, wanted.noting(table, rows))
        global_counts = {}
        for referred, condition in wanted.conditions():
            rows = _read(connection, TenantTable(referred, _kinds(referred)), condition)
            global_counts[referred.name] = writer.rows(referred.name, rows)
        files = _write_files(connection, metadata, writer, store, tenant_id)
        outcome.files = len(files)
        writer.manifest(
            {
                "kind": KIND,
                "format": FORMAT,
                "app_version": loandesk.__version__,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "source_backend": connection.dialect.name,
                "tenant": {"id": str(tenant_id), "slug": slug, "name": tenant["name"]},
                "heads": heads(connection),
                "plugins": _enabled_plugins(connection, metadata, tenant_id),
                "audit": _audit_head(connection, metadata, tenant_id),
                "tables": {
                    name: {"rows": count, "columns": _columns(metadata.tables[name])}
                    for name, count in outcome.tables.items()
                },
                "global_tables": {
                    name: {"rows": count, "columns": _columns(metadata.tables[name])}
                    for name, count in global_counts.items()
                },
                "files": files,
            }
        )
    finally:
        writer.close()
    return outcome


def _kinds(table: sa.Table) -> dict[str, str]:
    return {c.name: kind_of(c.type) for c in table.columns}


def _columns(table: sa.Table) -> list[list[str]]:
    kinds = _kinds(table)
    return [[c.name, kinds[c.name]] for c in table.columns]


def _read(
    connection: sa.Connection, table: TenantTable, condition: sa.ColumnElement[bool]
) -> Iterator[list[Any]]:
    """The rows, streamed (a server-side cursor on PostgreSQL), in primary-key order."""
    columns = list(table.table.columns)
    kinds = [table.kinds[c.name] for c in columns]
    statement = (
        sa.select(*[select_expression(c, table.kinds[c.name]) for c in columns])
        .where(condition)
        .order_by(*table.table.primary_key.columns)
    )
    result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(statement)
    for row in result:
        yield [encode(kind, value) for kind, value in zip(kinds, row, strict=True)]


class _GlobalKeys:
    """The keys of rows outside the tenant that its rows point at (its plan), noted while
    the tenant's rows stream past."""

    def __init__(self, metadata: sa.MetaData) -> None:
        self.references = global_references(metadata)
        self.keys: dict[sa.Column[Any], set[Any]] = {}

    def noting(self, table: TenantTable, rows: Iterator[list[Any]]) -> Iterator[list[Any]]:
        names = [c.name for c in table.table.columns]
        watched = [
            (names.index(source.name), target)
            for source, target in self.references
            if source.table is table.table
        ]
        for row in rows:
            for index, target in watched:
                if row[index] is not None:
                    self.keys.setdefault(target, set()).add(row[index])
            yield row

    def conditions(self) -> Iterator[tuple[sa.Table, sa.ColumnElement[bool]]]:
        for target, values in self.keys.items():
            table = target.table
            assert isinstance(table, sa.Table)
            kind = _kinds(table)[target.name]
            if kind == "uuid":
                values = {uuid.UUID(v) for v in values}
            yield table, target.in_(sorted(values))


def _write_files(
    connection: sa.Connection,
    metadata: sa.MetaData,
    writer: Writer,
    store: Storage,
    tenant_id: uuid.UUID,
) -> dict[str, dict[str, str]]:
    """Each attachment's bytes from the storage backend, checked against the row's SHA-256."""
    attachments = metadata.tables.get("attachments")
    if attachments is None:
        return {}
    rows = connection.execution_options(stream_results=True, yield_per=BATCH).execute(
        sa.select(attachments.c.storage_key, attachments.c.sha256, attachments.c.content_type)
        .where(attachments.c.tenant_id == tenant_id)
        .order_by(attachments.c.id)
    )
    files = {}
    for key, sha256, content_type in rows:
        try:
            written = writer.file(key, store.stream(key))
        except NotStored:
            raise MoveError(f"attachment {key} is not in the {store.name} storage") from None
        except StorageError as exc:
            raise MoveError(f"attachment {key} could not be read: {exc}") from None
        if written != sha256:
            raise MoveError(f"attachment {key} in storage does not match its recorded SHA-256")
        files[key] = {"sha256": written, "content_type": content_type}
    return files


def _enabled_plugins(
    connection: sa.Connection, metadata: sa.MetaData, tenant_id: uuid.UUID
) -> list[str]:
    plugins = metadata.tables["tenant_plugins"]
    rows = connection.execute(
        sa.select(plugins.c.name).where(plugins.c.tenant_id == tenant_id, plugins.c.enabled)
    )
    return sorted(rows.scalars())


def _audit_head(
    connection: sa.Connection, metadata: sa.MetaData, tenant_id: uuid.UUID
) -> dict[str, Any]:
    heads_table = metadata.tables["audit_heads"]
    row = connection.execute(
        sa.select(heads_table.c.last_seq, heads_table.c.last_hash).where(
            heads_table.c.tenant_id == tenant_id
        )
    ).first()
    return {"last_seq": row[0], "last_hash": row[1]} if row else {"last_seq": 0}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
