"""Writing and verifying the hash chain of a tenant's audit events."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loandesk.audit.context import current_actor
from loandesk.audit.models import AuditEvent, AuditHead
from loandesk.db import utcnow, uuid7
from loandesk.tenancy.context import current_id

GENESIS = "0" * 64
REDACTED = "***"
# the head's statements go through Core, not the ORM: an ORM UPDATE evaluates its criteria
# against the session's objects first (~1 ms of Python each, twice per event)
HEADS: Table = AuditHead.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Entry:
    """One audit event to append (``record_many``)."""

    action: str
    record_type: str | None = None
    record_id: object = None
    diff: dict[str, Any] | None = None


def record(
    session: Session,
    action: str,
    record_type: str | None = None,
    record_id: object = None,
    diff: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event for the current tenant, in the caller's transaction.

    The tenant's head row is updated first, which locks it until the transaction ends: events
    of one tenant get consecutive numbers, each chained to the one before.
    """
    return record_many(session, [Entry(action, record_type, record_id, diff)])[0]


def record_many(session: Session, entries: list[Entry]) -> list[AuditEvent]:
    """Append ``entries`` in their order as ``record`` appends one, in the same three
    statements however many they are (the head moved by all of them, the events, the
    head's hash): for a batch that makes several changes in one transaction."""
    tenant_id = current_id()
    if tenant_id is None:
        raise ValueError("audit events belong to a tenant; none is current")
    if not entries:
        return []
    last_seq, prev_hash = _advance_head(session, tenant_id, len(entries))
    actor = current_actor()
    events = []
    for seq, entry in enumerate(entries, start=last_seq - len(entries) + 1):
        event = AuditEvent(
            id=uuid7(),  # known before the insert: it is part of the hash
            seq=seq,
            occurred_at=utcnow(),
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_label=actor.label,
            action=entry.action,
            record_type=entry.record_type,
            record_id=str(entry.record_id) if entry.record_id is not None else None,
            diff=_plain(entry.diff or {}),
            ip=actor.ip,
            user_agent=(actor.user_agent or "")[:300] or None,
            request_id=actor.request_id,
            prev_hash=prev_hash,
        )
        event.tenant_id = tenant_id
        event.hash = prev_hash = digest(event)
        events.append(event)
    session.add_all(events)
    session.execute(update(HEADS).where(HEADS.c.tenant_id == tenant_id).values(last_hash=prev_hash))
    session.flush()
    return events


def _advance_head(session: Session, tenant_id: uuid.UUID, count: int = 1) -> tuple[int, str]:
    """Number the next ``count`` events: (the last one's seq, the hash of the event before
    the first)."""
    for _ in range(2):
        row = session.execute(
            update(HEADS)
            .where(HEADS.c.tenant_id == tenant_id)
            .values(last_seq=HEADS.c.last_seq + count)
            .returning(HEADS.c.last_seq, HEADS.c.last_hash)
        ).first()
        if row is not None:
            return int(row[0]), str(row[1])
        insert = (
            postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        session.execute(
            insert(AuditHead)
            .values(tenant_id=tenant_id, last_seq=0, last_hash=GENESIS)
            .on_conflict_do_nothing(index_elements=["tenant_id"])
        )
    raise RuntimeError("could not lock the audit head")


def digest(event: AuditEvent) -> str:
    """SHA-256 over every field of the event (canonical JSON) and the previous hash."""
    fields = {
        "tenant_id": str(event.tenant_id),
        "id": str(event.id) if event.id else None,
        "seq": event.seq,
        "occurred_at": _iso(event.occurred_at),
        "actor": [event.actor_kind, event.actor_id, event.actor_label],
        "action": event.action,
        "record": [event.record_type, event.record_id],
        "diff": event.diff,
        "origin": [event.ip, event.user_agent, event.request_id],
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _plain(value: Any) -> Any:
    """JSON-safe values for the diff (ids, decimals and dates as strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields that changed: ``{"field": [old, new]}``."""
    keys = sorted(set(before) | set(after))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    events: int
    broken_seq: int | None = None
    broken_id: str | None = None
    reason: str | None = None


def verify(session: Session, tenant_id: uuid.UUID, batch: int = 2000) -> Verdict:
    """Recompute the current tenant's chain: the first changed, missing or reordered event
    is reported (with its number and id)."""
    expected_seq, prev_hash, count = 1, GENESIS, 0
    last_seen: AuditEvent | None = None
    offset_seq = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.seq > offset_seq)
                .order_by(AuditEvent.seq)
                .limit(batch)
            )
        )
        for event in rows:
            count += 1
            if event.seq != expected_seq:
                return Verdict(
                    False,
                    count,
                    expected_seq,
                    str(event.id),
                    f"event {expected_seq} is missing (next is {event.seq})",
                )
            if event.prev_hash != prev_hash:
                return Verdict(
                    False,
                    count,
                    event.seq,
                    str(event.id),
                    "does not follow the event before it (reordered or replaced)",
                )
            if digest(event) != event.hash:
                return Verdict(False, count, event.seq, str(event.id), "its content was changed")
            prev_hash, expected_seq, last_seen = event.hash, expected_seq + 1, event
        if len(rows) < batch:
            break
        offset_seq = rows[-1].seq
    head = session.get(AuditHead, tenant_id, populate_existing=True)  # written through Core
    if head is not None and (head.last_seq != expected_seq - 1 or head.last_hash != prev_hash):
        return Verdict(
            False,
            count,
            expected_seq,
            str(last_seen.id) if last_seen else None,
            f"the newest events after {expected_seq - 1} were removed",
        )
    return Verdict(True, count)
