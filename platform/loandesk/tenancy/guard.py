"""The first wall between tenants: the ORM session filters and stamps tenant-owned rows.

``install(sessionmaker)`` registers these listeners:

* ``filter_tenant_owned`` adds ``tenant_id = <current>`` to every ORM SELECT, UPDATE and DELETE
  that touches a ``TenantOwned`` entity (joins, relationship loads and aliases included), and
  raises ``TenantContextMissing`` when there is no current tenant;
* ``stamp_tenant_on_flush`` gives new rows the current tenant and refuses rows of another;
* ``apply_tenant_to_transaction`` sets ``app.tenant_id`` for the transaction on PostgreSQL, which
  the row-level security policies read (the second wall, ``loandesk.tenancy.rls``), and
  ``follow_tenant_on_execute`` sets it again when the current tenant changed since.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria

from loandesk.db import TenantOwned, is_tenant_owned
from loandesk.tenancy.context import TenantContextMissing, current_id

# Matches no tenant: used when a statement reaches tenant-owned rows only indirectly and there
# is no tenant, so that it returns nothing rather than everything.
NO_TENANT = uuid.UUID(int=0)
_RLS_KEY = "loandesk_rls_tenant"


class CrossTenantWrite(RuntimeError):
    """A flush would write a row of a tenant other than the current one."""


def filter_tenant_owned(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # the criteria propagate from the statement that loaded the parent
    tenant_id = current_id()
    if tenant_id is None:
        if any(is_tenant_owned(m.class_) for m in state.all_mappers):
            raise TenantContextMissing("query on a tenant-owned table without a current tenant")
        tenant_id = NO_TENANT
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantOwned,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
            propagate_to_loaders=True,
        )
    )


def stamp_tenant_on_flush(session: Session, _context: Any, _instances: Any) -> None:
    _follow_current_tenant(session)
    tenant_id = current_id()
    for obj in session.new:
        if not isinstance(obj, TenantOwned):
            continue
        if tenant_id is None:
            raise TenantContextMissing(f"cannot save a {type(obj).__name__} without a tenant")
        if obj.tenant_id is None:
            obj.tenant_id = tenant_id
        elif obj.tenant_id != tenant_id:
            raise CrossTenantWrite(f"{type(obj).__name__} belongs to another tenant")
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, TenantOwned):
            continue
        if tenant_id is None:
            raise TenantContextMissing(f"cannot save a {type(obj).__name__} without a tenant")
        if obj.tenant_id != tenant_id:
            raise CrossTenantWrite(f"{type(obj).__name__} belongs to another tenant")


def apply_tenant_to_transaction(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    if connection.dialect.name == "postgresql":
        _set_config(session, connection, current_id())


def _set_config(session: Session, connection: Connection, tenant_id: uuid.UUID | None) -> None:
    # set_config(..., true) is transaction-local: a pooled connection never carries a tenant
    # into the next request, which a plain SET would.
    connection.execute(
        text("select set_config('app.tenant_id', :tenant_id, true)"),
        {"tenant_id": str(tenant_id) if tenant_id else ""},
    )
    session.info[_RLS_KEY] = tenant_id or NO_TENANT


def follow_tenant_on_execute(state: ORMExecuteState) -> None:
    _follow_current_tenant(state.session)


def _follow_current_tenant(session: Session) -> None:
    """Re-apply the tenant when it changed inside an open transaction (sign-up creates the
    tenant, then its first user, in one transaction). Independent of the ORM filter: the two
    walls stand on their own."""
    applied = session.info.get(_RLS_KEY)
    if applied is not None and applied != (current_id() or NO_TENANT):
        _set_config(session, session.connection(), current_id())


def forget_transaction_tenant(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_RLS_KEY, None)


def install(target: Any) -> None:
    """Register the tenant listeners on a ``sessionmaker`` (or ``Session`` class)."""
    event.listen(target, "do_orm_execute", follow_tenant_on_execute)
    event.listen(target, "do_orm_execute", filter_tenant_owned)
    event.listen(target, "before_flush", stamp_tenant_on_flush)
    event.listen(target, "after_begin", apply_tenant_to_transaction)
    event.listen(target, "after_transaction_end", forget_transaction_tenant)
