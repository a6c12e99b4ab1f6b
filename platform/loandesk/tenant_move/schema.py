"""Which tables hold a tenant's rows, the order they can be inserted in, and the schema's
migration heads; all read from the models (core and every installed plugin) and the database,
so that a plugin's tables move without being listed anywhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext

from loandesk.tenant_move.archive import MoveError, kind_of

TENANTS = "tenants"


@dataclass(frozen=True)
class TenantTable:
    """A table of the tenant's rows: its columns and their kinds, and the foreign-key columns
    inserted empty and set in a second pass (references within the table, or around a cycle of
    tables), so that rows go in whatever order they come."""

    table: sa.Table
    kinds: dict[str, str]
    deferred: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def key(self) -> list[str]:
        return [c.name for c in self.table.primary_key.columns]


def is_tenant_data(table: sa.Table) -> bool:
    """Rows of a tenant: a ``tenant_id`` that must be given. Tables where it may be empty
    (web sessions, the embedded job queue) note a tenant but are the install's own."""
    column = table.c.get("tenant_id")
    return column is not None and not column.nullable


def tenant_tables(metadata: sa.MetaData, connection: sa.Connection) -> list[TenantTable]:
    """The tenant's tables present in the database, parents before children."""
    inspector = sa.inspect(connection)
    present = set(inspector.get_table_names())
    candidates = [t for t in metadata.tables.values() if is_tenant_data(t) and t.name in present]
    ordered = sa.schema.sort_tables_and_constraints(candidates)
    around_cycles = {fk for table, fks in ordered if table is None for fk in fks}
    result = []
    for table, _fks in ordered:
        if table is None:
            continue
        deferred: list[str] = []
        for fk in table.foreign_key_constraints:
            if fk.referred_table is table or fk in around_cycles:
                deferred += [c.name for c in fk.columns if c.name != "tenant_id"]
        for name in deferred:
            if not table.c[name].nullable:
                raise MoveError(f"{table.name}.{name} closes a cycle of references but is required")
        check_columns(table, inspector.get_columns(table.name))
        kinds = {c.name: kind_of(c.type) for c in table.columns}
        result.append(TenantTable(table, kinds, tuple(dict.fromkeys(deferred))))
    return result


def undeclared_rows(
    metadata: sa.MetaData, connection: sa.Connection, tenant_id: object
) -> dict[str, int]:
    """Tables in the database that no installed model declares (a plugin removed, its tables
    left) but that hold rows of the tenant: an export without them would lose them."""
    inspector = sa.inspect(connection)
    found = {}
    for name in inspector.get_table_names():
        if name in metadata.tables:
            continue
        if "tenant_id" not in {c["name"] for c in inspector.get_columns(name)}:
            continue
        table = sa.table(name, sa.column("tenant_id", sa.Uuid))
        rows = connection.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
        ).scalar_one()
        if rows:
            found[name] = int(rows)
    return found


def check_columns(table: sa.Table, reflected: list[Any]) -> None:
    in_database = {c["name"] for c in reflected}
    in_models = {c.name for c in table.columns}
    if in_database != in_models:
        raise MoveError(
            f"table {table.name}: the database's columns differ from the models' "
            f"({sorted(in_database ^ in_models)}); run loandesk db upgrade"
        )


def global_references(metadata: sa.MetaData) -> list[tuple[sa.Column[Any], sa.Column[Any]]]:
    """Single-column foreign keys from the tenant's rows (the tenants row included) to rows
    that are not a tenant's (a tenant's plan): (referring column, referred column)."""
    found = []
    for table in metadata.tables.values():
        if not (is_tenant_data(table) or table.name == TENANTS):
            continue
        for fk in table.foreign_key_constraints:
            target = fk.referred_table
            if target.name == TENANTS or is_tenant_data(target) or len(fk.elements) != 1:
                continue
            found.append((fk.elements[0].parent, fk.elements[0].column))
    return found


def heads(connection: sa.Connection) -> list[str]:
    """The database's Alembic revisions (the core's and each plugin branch's)."""
    return sorted(MigrationContext.configure(connection).get_current_heads())


def tenant_setting(connection: sa.Connection, tenant_id: object) -> None:
    """Let row-level security show the tenant's rows in this transaction (PostgreSQL; ``FORCE``
    binds the owner role too), as the app's own sessions do (``loandesk.tenancy.guard``)."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id or "")}
        )
