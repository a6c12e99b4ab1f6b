"""``import_tenant``: an archive of ``export_tenant`` into this database, whole or not at all."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from loandesk import audit
from loandesk.audit.context import Actor, actor_context
from loandesk.audit.service import verify
from loandesk.db import make_engine
from loandesk.pii.rotation import rewrap_data_keys
from loandesk.storage import Storage
from loandesk.tenancy import guard, use
from loandesk.tenancy.models import Tenant
from loandesk.tenancy.service import slug_problems
from loandesk.tenant_move.archive import MoveError, Reader, bind_column, decoder, kind_of
from loandesk.tenant_move.schema import TENANTS, TenantTable, heads, tenant_tables

BATCH = 1000


@dataclass
class Imported:
    tenant_id: uuid.UUID
    slug: str
    tables: dict[str, int] = field(default_factory=dict)
    files: int = 0
    rewrapped_keys: int = 0

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def import_tenant(
    metadata: sa.MetaData,
    url: str,
    store: Storage,
    source: Path,
    *,
    installed_plugins: Collection[str],
    master_key: str,
    previous_master_keys: Sequence[str] = (),
    as_slug: str | None = None,
) -> Imported:
    """Check the archive whole, then insert the tenant in one transaction and commit only when
    its row counts and audit chain verify; the files go to ``store`` just before the commit
    and are removed again if it fails."""
    reader = Reader(Path(source))
    try:
        reader.check()
        manifest = reader.manifest
        missing = sorted(set(manifest["plugins"]) - set(installed_plugins))
        if missing:
            raise MoveError(
                f"the tenant uses plugins not installed here: {', '.join(missing)}; "
                "install them (and run loandesk db upgrade) first"
            )
        if as_slug is not None:
            problems = slug_problems(as_slug)
            if problems:
                raise MoveError(f"--as-slug {as_slug!r}: {'; '.join(map(str, problems))}")
        engine = make_engine(url)
        try:
            return _import(
                metadata,
                engine,
                store,
                reader,
                as_slug=as_slug,
                master_keys=(master_key, tuple(previous_master_keys)),
            )
        finally:
            engine.dispose()
    finally:
        reader.close()


def _import(
    metadata: sa.MetaData,
    engine: sa.Engine,
    store: Storage,
    reader: Reader,
    *,
    as_slug: str | None,
    master_keys: tuple[str, tuple[str, ...]],  # this install's, and the previous ones
) -> Imported:
    manifest = reader.manifest
    tenants = metadata.tables[TENANTS]
    tenant_row = _decoded(manifest["tables"][TENANTS]["columns"], next(reader.rows(TENANTS)))
    if as_slug:
        tenant_row["slug"] = as_slug
    try:
        ref = Tenant(**tenant_row).ref()
    except TypeError:
        raise MoveError("the archive's tenant row has other columns than this install's") from None
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    guard.install(factory)  # app.tenant_id for row-level security, as in the app
    stored: list[str] = []
    actor = Actor(kind="system", label="loandesk tenant import-data")
    try:
        with actor_context(actor), use(ref), factory() as session, session.begin():
            connection = session.connection()
            _refuse_what_does_not_fit(connection, metadata, manifest, ref)
            tables = _tables_of(metadata, connection, manifest)
            outcome = Imported(ref.id, ref.slug)
            _insert_globals(connection, metadata, reader)
            connection.execute(sa.insert(_bare(tenants, manifest, TENANTS)), [tenant_row])
            outcome.tables[TENANTS] = 1
            for table in tables:
                outcome.tables[table.name] = _insert(connection, table, reader, manifest)
            for table in tables:
                if table.deferred:
                    _set_deferred(connection, table, reader, manifest)
            _advance_sequences(connection, tables)
            _check_counts(connection, tables, manifest, ref.id)
            keys = rewrap_data_keys(
                session,
                tenant_id=ref.id,
                master_key=master_keys[0],
                previous_master_keys=master_keys[1],
            )
            if keys.unavailable:
                raise MoveError(
                    f"{keys.unavailable} of the tenant's data keys open with none of this "
                    "install's master keys: add the source install's master key to "
                    "LOANDESK_PREVIOUS_MASTER_KEYS for the import (its keys are re-wrapped "
                    "with this install's master key)"
                )
            outcome.rewrapped_keys = keys.rewrapped
            for key, described in manifest["files"].items():
                with reader.file(key) as handle:
                    data = handle.read()
                stored.append(key)
                store.put(key, data, described["content_type"])
            outcome.files = len(stored)
            audit.record(
                session,
                "tenant.imported",
                "tenant",
                ref.id,
                {
                    "source_slug": manifest["tenant"]["slug"],
                    "source_backend": manifest["source_backend"],
                    "exported_at": manifest["created_at"],
                    "rows": outcome.rows,
                    "files": outcome.files,
                    "rewrapped_keys": keys.rewrapped,
                },
            )
            verdict = verify(session, ref.id)
            if not verdict.ok:
                raise MoveError(
                    f"the imported audit chain does not verify at event {verdict.broken_seq}: "
                    f"{verdict.reason}"
                )
    except BaseException:
        for key in stored:
            store.delete(key)
        raise
    return outcome


def _refuse_what_does_not_fit(
    connection: sa.Connection, metadata: sa.MetaData, manifest: dict[str, Any], ref: Any
) -> None:
    source, here = set(manifest["heads"]), set(heads(connection))
    if not source <= here:
        raise MoveError(
            f"this database is at migration heads {sorted(here)}, the archive's at "
            f"{sorted(source)}: bring both installs to the same version (upgrade the older "
            "one and run loandesk db upgrade) and export again"
        )
    tenants = metadata.tables[TENANTS]
    clash = connection.execute(
        sa.select(tenants.c.id, tenants.c.slug).where(
            sa.or_(tenants.c.id == ref.id, tenants.c.slug == ref.slug)
        )
    ).first()
    if clash is not None and clash.id == ref.id:
        raise MoveError(f"tenant {ref.id} ({clash.slug}) is already in this database")
    if clash is not None:
        raise MoveError(f"the slug {ref.slug!r} is taken here: import with --as-slug NEW")


def _tables_of(
    metadata: sa.MetaData, connection: sa.Connection, manifest: dict[str, Any]
) -> list[TenantTable]:
    """This database's tenant tables that the archive has rows for, in insertion order; an
    archive table unknown here, or one whose columns differ, is refused."""
    here = {t.name: t for t in tenant_tables(metadata, connection)}
    outside = {name: metadata.tables.get(name) for name in [TENANTS, *manifest["global_tables"]]}
    for name, other in outside.items():
        if other is not None:
            here[name] = TenantTable(other, {c.name: kind_of(c.type) for c in other.columns})
    described = {**manifest["tables"], **manifest["global_tables"]}
    for name, table_described in described.items():
        found = here.get(name)
        if found is None:
            raise MoveError(f"the archive has table {name}, unknown here: install its plugin")
        if [[c, k] for c, k in found.kinds.items()] != table_described["columns"]:
            raise MoveError(f"table {name} has other columns here than in the archive")
    return [t for t in here.values() if t.name in manifest["tables"] and t.name != TENANTS]


def _bare(table: sa.Table, manifest: dict[str, Any], name: str, section: str = "tables") -> Any:
    columns = manifest[section][name]["columns"]
    return sa.table(table.name, *[bind_column(table.c[c], kind) for c, kind in columns])


def _decoded(columns: list[list[str]], row: list[Any]) -> dict[str, Any]:
    return {name: decoder(kind)(value) for (name, kind), value in zip(columns, row, strict=True)}


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    while batch := list(islice(rows, BATCH)):
        yield batch


def _insert(
    connection: sa.Connection, table: TenantTable, reader: Reader, manifest: dict[str, Any]
) -> int:
    columns = manifest["tables"][table.name]["columns"]
    statement = sa.insert(_bare(table.table, manifest, table.name))
    decoded = (_decoded(columns, row) for row in reader.rows(table.name))
    count = 0
    for batch in _batches(decoded):
        for row in batch:
            for name in table.deferred:
                row[name] = None
        connection.execute(statement, batch)
        count += len(batch)
    return count


def _set_deferred(
    connection: sa.Connection, table: TenantTable, reader: Reader, manifest: dict[str, Any]
) -> None:
    """The second pass: the references inserted empty, set now that every row is in."""
    columns = manifest["tables"][table.name]["columns"]
    kinds = dict((c, k) for c, k in columns)
    bare = sa.table(
        table.name,
        *[bind_column(table.table.c[c], kinds[c]) for c in table.key + list(table.deferred)],
    )
    statement = (
        sa.update(bare)
        .where(*[bare.c[k] == sa.bindparam(f"key_{k}") for k in table.key])
        .values({c: sa.bindparam(f"set_{c}") for c in table.deferred})
    )

    def pending() -> Iterator[dict[str, Any]]:
        for row in reader.rows(table.name):
            values = _decoded(columns, row)
            if any(values[c] is not None for c in table.deferred):
                yield {f"key_{k}": values[k] for k in table.key} | {
                    f"set_{c}": values[c] for c in table.deferred
                }

    for batch in _batches(pending()):
        connection.execute(statement, batch)


def _insert_globals(connection: sa.Connection, metadata: sa.MetaData, reader: Reader) -> None:
    """Rows outside the tenant that it points at (its plan): kept as this install has them
    when present under the same key, else inserted."""
    for name, described in reader.manifest["global_tables"].items():
        table = metadata.tables[name]
        columns = described["columns"]
        key = [c.name for c in table.primary_key.columns]
        for raw in reader.rows(name):
            row = _decoded(columns, raw)
            present = connection.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(*[table.c[k] == row[k] for k in key])
            ).scalar_one()
            if present:
                continue
            try:
                with connection.begin_nested():
                    connection.execute(
                        sa.insert(_bare(table, reader.manifest, name, "global_tables")), [row]
                    )
            except sa.exc.IntegrityError as exc:
                raise MoveError(
                    f"the tenant's {name} row {row.get('name') or row[key[0]]} conflicts with "
                    f"one of this install's: {exc.orig}"
                ) from None


def _advance_sequences(connection: sa.Connection, tables: list[TenantTable]) -> None:
    """Serial columns' sequences past the imported values (PostgreSQL), so that the next
    generated value does not collide."""
    if connection.dialect.name != "postgresql" or not tables:
        return
    found = connection.execute(
        sa.text(
            "select table_name, column_name, "
            "pg_get_serial_sequence(quote_ident(table_name), column_name) "
            "from information_schema.columns where table_schema = current_schema() "
            "and table_name = any(:names)"
        ),
        {"names": [t.name for t in tables]},
    )
    for table_name, column_name, sequence in found:
        if sequence is None:
            continue
        connection.execute(
            sa.text(
                f"select setval(:seq, greatest((select max({column_name}) "  # noqa: S608
                f"from {table_name}), (select last_value from {sequence})))"
            ),
            {"seq": sequence},
        )


def _check_counts(
    connection: sa.Connection, tables: list[TenantTable], manifest: dict[str, Any], tenant_id: Any
) -> None:
    for table in tables:
        found = connection.execute(
            sa.select(sa.func.count())
            .select_from(table.table)
            .where(table.table.c.tenant_id == tenant_id)
        ).scalar_one()
        expected = manifest["tables"][table.name]["rows"]
        if found != expected:
            raise MoveError(
                f"table {table.name}: {found} rows imported, the archive has {expected}"
            )
