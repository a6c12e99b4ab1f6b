"""Row-level security, the second wall between tenants on PostgreSQL (DESIGN §2).

Migrations call ``enable(op, table)`` for every tenant-owned table they create. The policy reads
the transaction-local ``app.tenant_id`` that ``loandesk.tenancy.guard`` sets; with no tenant set
it matches no row. ``FORCE`` makes the policy apply to the table owner too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.engine import Connection

POLICY = "tenant_isolation"
_TENANT_SETTING = "nullif(current_setting('app.tenant_id', true), '')::uuid"


def statements(table: str) -> list[str]:
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY} ON {table} "
        f"USING (tenant_id = {_TENANT_SETTING}) WITH CHECK (tenant_id = {_TENANT_SETTING})",
    ]


def enable(op: Any, table: str) -> None:
    """Turn on row-level security for ``table``; a no-op on databases other than PostgreSQL."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in statements(table):
        op.execute(statement)


def each_tenant(op: Any) -> Iterator[uuid.UUID]:
    """Each tenant's id, for a migration that reads or writes tenant rows: on PostgreSQL with
    ``app.tenant_id`` set to it while the caller works on it (``FORCE`` binds the owner role
    too: with no tenant set, a query sees no row) and cleared after."""
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    tenants = sa.table("tenants", sa.column("id", sa.Uuid))
    for tenant_id in list(bind.execute(sa.select(tenants.c.id)).scalars()):
        if postgres:
            bind.execute(
                text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
            )
        yield tenant_id
    if postgres:
        bind.execute(text("select set_config('app.tenant_id', '', true)"))


def disable(op: Any, table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def grant_app_role(connection: Connection, role: str, append_only: tuple[str, ...] = ()) -> None:
    """Let the app's role use the tables without owning them (owners could drop the policies);
    on ``append_only`` tables it may only insert and read."""
    quoted = connection.dialect.identifier_preparer.quote(role)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
    ]
    statements += [f"REVOKE UPDATE, DELETE, TRUNCATE ON {t} FROM {quoted}" for t in append_only]
    for statement in statements:
        connection.execute(text(statement))


def unprotected_tables(connection: Connection, tables: list[str]) -> list[str]:
    """Those of ``tables`` that lack enabled and forced RLS with the tenant policy."""
    rows = connection.execute(
        text(
            "select c.relname from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace and n.nspname = current_schema() "
            "where c.relrowsecurity and c.relforcerowsecurity and exists ("
            "  select 1 from pg_policies p where p.tablename = c.relname and p.policyname = :p)"
        ),
        {"p": POLICY},
    )
    protected = {row[0] for row in rows}
    return [t for t in tables if t not in protected]
