"""Finding audit events (the audit page, its CSV export)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from loandesk.audit.models import AuditEvent


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""  # part of the e-mail / client name, or an exact id
    action: str = ""  # exact, or a prefix ending with "." ("user.")
    record_type: str = ""
    record_id: str = ""
    since: date | None = None  # tenant-local dates, both inclusive
    until: date | None = None


def _query(f: AuditFilter, timezone: str) -> Select[Any]:
    query = select(AuditEvent)
    if f.actor:
        like = f"%{f.actor.lower()}%"
        query = query.where(
            or_(func.lower(AuditEvent.actor_label).like(like), AuditEvent.actor_id == f.actor)
        )
    if f.action:
        query = query.where(
            AuditEvent.action.startswith(f.action)
            if f.action.endswith(".")
            else AuditEvent.action == f.action
        )
    if f.record_type:
        query = query.where(AuditEvent.record_type == f.record_type)
    if f.record_id:
        query = query.where(AuditEvent.record_id == f.record_id)
    zone = ZoneInfo(timezone)
    if f.since:
        query = query.where(AuditEvent.occurred_at >= datetime.combine(f.since, time(), zone))
    if f.until:
        end = datetime.combine(f.until + timedelta(days=1), time(), zone)
        query = query.where(AuditEvent.occurred_at < end)
    return query


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEvent]
    total: int
    page: int
    per_page: int


def search(
    session: Session, f: AuditFilter, timezone: str, page: int = 1, per_page: int = 50
) -> AuditPage:
    query = _query(f, timezone)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(AuditEvent.seq.desc()).offset((page - 1) * per_page).limit(per_page)
    )
    return AuditPage(list(items), total, page, per_page)


CSV_COLUMNS = (
    "seq",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "actor_label",
    "action",
    "record_type",
    "record_id",
    "diff",
    "ip",
    "user_agent",
    "request_id",
    "hash",
)


def export_csv(session: Session, f: AuditFilter, timezone: str) -> Iterator[str]:
    """CSV lines (UTF-8 with a BOM, which Excel needs for Chinese), oldest first, streamed."""
    zone = ZoneInfo(timezone)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow(CSV_COLUMNS)
    query = _query(f, timezone).order_by(AuditEvent.seq).execution_options(yield_per=1000)
    for event in session.scalars(query):
        writer.writerow(
            [
                _cell(v)
                for v in (
                    event.seq,
                    event.occurred_at.astimezone(zone).isoformat(timespec="seconds"),
                    event.actor_kind,
                    event.actor_id,
                    event.actor_label,
                    event.action,
                    event.record_type,
                    event.record_id,
                    json.dumps(event.diff, ensure_ascii=False, sort_keys=True),
                    event.ip,
                    event.user_agent,
                    event.request_id,
                    event.hash,
                )
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # a cell starting with = + - @ would be a formula in Excel (CSV injection)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
