"""The current tenant: set once per request, job or command, read everywhere."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


class TenantContextMissing(RuntimeError):
    """A tenant-owned table was queried without a current tenant."""


@dataclass(frozen=True)
class TenantRef:
    """What the rest of the code needs to know about the current tenant, without a query."""

    id: uuid.UUID
    slug: str
    name: str
    status: str
    timezone: str
    locale: str
    currency: str
    plugins_version: int = 0
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    require_two_factor: bool = False

    @property
    def is_active(self) -> bool:
        return self.status == "active"


_current: ContextVar[TenantRef | None] = ContextVar("loandesk_tenant", default=None)


def current() -> TenantRef:
    """The current tenant; raises ``TenantContextMissing`` when there is none."""
    tenant = _current.get()
    if tenant is None:
        raise TenantContextMissing("no current tenant")
    return tenant


def current_or_none() -> TenantRef | None:
    return _current.get()


def current_id() -> uuid.UUID | None:
    tenant = _current.get()
    return tenant.id if tenant else None


@contextmanager
def use(tenant: TenantRef | None) -> Iterator[TenantRef | None]:
    """Make ``tenant`` current inside the block.

    Switch tenants only between transactions: on PostgreSQL the tenant is applied to a
    transaction when it begins, and the guard refuses a query whose transaction belongs to
    another tenant.
    """
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)


def activate(tenant: TenantRef | None) -> object:
    """Set the current tenant until ``deactivate(token)``: for request hooks that cannot use
    a ``with`` block."""
    return _current.set(tenant)


def deactivate(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
