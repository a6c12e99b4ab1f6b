"""Domain events (DESIGN §1): emitted inside the transaction that caused them, delivered after
it commits — at least once, in order, to the handlers of the plugins the tenant enabled.

``emit`` writes the event to an outbox table in the caller's transaction: an event of a
rolled-back transaction never existed. After a commit the core enqueues ``core.deliver_events``
for the tenant; a delivery is recorded per (event, handler), so a handler that succeeded is not
called again when a later handler fails and the job is retried. A worker that dies mid-delivery
leaves the event pending: the next delivery (after any new event, or the one-minute sweep)
picks it up. Handlers must therefore be idempotent: "at least once", not "exactly once".
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, String, UniqueConstraint, Uuid, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow
from loandesk.jobs import JobContext
from loandesk.tenancy.context import current_id

ANY = "*"  # a handler of every event (the core's automations)
CORE = "core"  # the plugin name of the core's own handlers
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_EMITTED = "loandesk_emitted_events"
_COMMITTED = "loandesk_committed_events"  # emitted, committed, not yet enqueued


@dataclass(frozen=True)
class EventType:
    """An event a module emits, declared so that automations can offer it."""

    name: str  # record_type.happening: "loan.disbursed"
    label_zh: str
    label_en: str
    record_type: str


@dataclass(frozen=True)
class Event:
    """What a handler receives: plain values only."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    record_type: str
    record_id: str
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class EventHandler:
    """Calls ``handle(ctx, event)`` for each committed event named ``event`` (``"*"``: every
    event; the core's only). ``key`` names the handler within its plugin (deliveries are
    recorded under it: keep it stable)."""

    event: str
    key: str
    handle: Callable[[JobContext, Event], None]
    # a handler that does nothing twice for the same event on its own (its effects are keyed
    # by the event) is not recorded per event: one row fewer for every event delivered
    idempotent: bool = False
    # a handler of another plugin's event that may not be installed: left out at start-up
    # when no plugin declares the event, instead of refused as a misspelt name
    optional: bool = False


@dataclass
class EventRegistry:
    """The event types and handlers of one app (the core's and every plugin's)."""

    types: dict[str, EventType]
    handlers: list[tuple[str, EventHandler]]  # (plugin, handler)


class OutboxEvent(TenantOwned, Base):
    __tablename__ = "events"

    name: Mapped[str] = mapped_column(String(80))
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    def view(self) -> Event:
        return Event(
            id=self.id,
            tenant_id=self.tenant_id,
            name=self.name,
            record_type=self.record_type,
            record_id=self.record_id,
            payload=dict(self.payload),
            created_at=self.created_at,
        )


class EventDelivery(TenantOwned, Base):
    __tablename__ = "event_deliveries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "event_id", "handler"),
        ForeignKeyConstraint(["tenant_id", "event_id"], ["events.tenant_id", "events.id"]),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    handler: Mapped[str] = mapped_column(String(120))  # "<plugin>:<key>"
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventBacklog(Base):
    """Tenants with events not yet delivered: a platform table, so that the sweep can find
    them without reading any tenant's rows."""

    __tablename__ = "event_backlog"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)


def emit(
    session: Session,
    name: str,
    record_type: str,
    record_id: object,
    payload: dict[str, Any] | None = None,
) -> None:
    """Record event ``name`` about a record, in the caller's transaction (current tenant)."""
    if not NAME_PATTERN.match(name):
        raise ValueError(f"event names look like 'loan.disbursed', not {name!r}")
    tenant_id = current_id()
    if tenant_id is None:
        raise ValueError("events belong to a tenant; none is current")
    session.add(
        OutboxEvent(
            name=name,
            record_type=record_type,
            record_id=str(record_id),
            payload=dict(payload or {}),
        )
    )
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(EventBacklog)
        .values(tenant_id=tenant_id, since=utcnow())
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    session.info.setdefault(_EMITTED, set()).add(tenant_id)


def emit_many(
    session: Session,
    name: str,
    record_type: str,
    record_ids: Sequence[object],
    payload: dict[str, Any] | None = None,
) -> None:
    """``emit`` for many records at once (one event each; an import writes thousands)."""
    if not NAME_PATTERN.match(name):
        raise ValueError(f"event names look like 'loan.disbursed', not {name!r}")
    tenant_id = current_id()
    if tenant_id is None:
        raise ValueError("events belong to a tenant; none is current")
    if not record_ids:
        return
    session.add_all(
        OutboxEvent(
            name=name, record_type=record_type, record_id=str(i), payload=dict(payload or {})
        )
        for i in record_ids
    )
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(EventBacklog)
        .values(tenant_id=tenant_id, since=utcnow())
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    session.info.setdefault(_EMITTED, set()).add(tenant_id)


def install_delivery_trigger(session_factory: Any, enqueue: Callable[[uuid.UUID], Any]) -> None:
    """After a commit that emitted events, enqueue their delivery (per tenant, once)."""
    from sqlalchemy import event as sa_event

    def after_commit(session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint released: the transaction goes on (its writes hold the lock)
        committed = session.info.pop(_EMITTED, set())
        session.info.setdefault(_COMMITTED, set()).update(committed)

    def after_transaction_end(session: Session, transaction: Any) -> None:
        # enqueue only once the transaction has given its connection back: on SQLite the
        # embedded backend writes the job through a connection of the same pool, and a burst
        # of requests each holding one while asking for another would exhaust it
        if transaction.parent is not None:
            return
        for tenant_id in session.info.pop(_COMMITTED, set()):
            try:
                enqueue(tenant_id)
            except Exception:  # the commit stands; the sweep delivers what was not enqueued
                logging.getLogger(__name__).exception("could not enqueue event delivery")

    def after_rollback(session: Session, transaction: Any) -> None:
        if not transaction.nested:  # a savepoint rolled back: the transaction goes on
            session.info.pop(_EMITTED, None)

    sa_event.listen(session_factory, "after_commit", after_commit)
    sa_event.listen(session_factory, "after_transaction_end", after_transaction_end)
    sa_event.listen(session_factory, "after_soft_rollback", after_rollback)


def deliver(
    ctx: JobContext,
    handlers: list[tuple[str, EventHandler]],
    enabled: frozenset[str],
    batch: int = 500,
) -> int:
    """Deliver the current tenant's pending events in order; returns how many were finished."""
    session = ctx.session
    finished = 0
    pending = list(
        session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.delivered_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(batch)
        )
    )
    for number, event in enumerate(pending, start=1):
        done = set(
            session.scalars(select(EventDelivery.handler).where(EventDelivery.event_id == event.id))
        )
        for plugin, handler in handlers:
            key = f"{plugin}:{handler.key}"
            if handler.event not in (event.name, ANY) or key in done:
                continue
            if plugin != CORE and plugin not in enabled:
                continue
            handler.handle(ctx, event.view())  # raises: the job fails and is retried
            if not handler.idempotent:
                session.add(EventDelivery(event_id=event.id, handler=key))
            session.commit()
        event.delivered_at = utcnow()
        session.commit()
        finished += 1
        ctx.report_progress(number, len(pending))
    if len(pending) < batch:
        _clear_backlog(session, ctx)
    return finished


def _clear_backlog(session: Session, ctx: JobContext) -> None:
    if ctx.tenant is None:
        return
    remaining = session.scalar(
        select(OutboxEvent.id).where(OutboxEvent.delivered_at.is_(None)).limit(1)
    )
    if remaining is None:
        row = session.get(EventBacklog, ctx.tenant.id)
        if row is not None:
            session.delete(row)
            session.commit()


def stale_backlog(
    session: Session, older_than: timedelta, now: datetime | None = None
) -> list[uuid.UUID]:
    """Tenants whose events have waited longer than ``older_than``: the sweep redelivers."""
    cutoff = (now or utcnow()) - older_than
    return list(session.scalars(select(EventBacklog.tenant_id).where(EventBacklog.since < cutoff)))
