"""The log of messages to borrowers (借款人消息记录): what the outbox sent, holds or gave up on,
filtered and a page at a time. Only the masked address is ever shown; the encrypted one is
for the channel alone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from loandesk.errors import NotFound
from loandesk.i18n import N_
from loandesk.notifications.models import Message
from loandesk.todos.dates import day_range

# ``held``: waiting, untried, for the end of the quiet hours (a subset of ``pending``)
STATES = ("pending", "held", "sent", "failed")


@dataclass(frozen=True)
class LogFilter:
    """Empty values filter nothing; ``created_from``/``created_to`` are the tenant's dates."""

    state: str = ""
    channel: str = ""
    record_type: str = ""
    record_id: str = ""
    created_from: date | None = None
    created_to: date | None = None


@dataclass(frozen=True)
class Page:
    items: list[Message]
    page: int
    per_page: int
    total: int


def _held(now: datetime) -> Any:
    return (
        (Message.state == "pending")
        & (Message.attempts == 0)
        & Message.urgent.is_(False)
        & (Message.send_after > now)
    )


def _query(log_filter: LogFilter, timezone: str, now: datetime) -> Select[Message]:
    query = select(Message).where(Message.audience == "borrower")
    if log_filter.state == "held":
        query = query.where(_held(now))
    elif log_filter.state:
        query = query.where(Message.state == log_filter.state)
    if log_filter.channel:
        query = query.where(Message.channel == log_filter.channel)
    if log_filter.record_type:
        query = query.where(Message.record_type == log_filter.record_type)
    if log_filter.record_id:
        query = query.where(Message.record_id == log_filter.record_id)
    start, end = day_range(log_filter.created_from, log_filter.created_to, timezone)
    if start is not None:
        query = query.where(Message.created_at >= start)
    if end is not None:
        query = query.where(Message.created_at <= end)
    return query


def search(
    session: Session,
    log_filter: LogFilter,
    timezone: str,
    *,
    now: datetime,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """The current tenant's messages to borrowers that match, newest first."""
    query = _query(log_filter, timezone, now)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(Message.created_at.desc(), Message.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(items), page, per_page, int(total))


def get(session: Session, message_id: uuid.UUID) -> Message:
    """One message to a borrower of the current tenant; ``NotFound`` otherwise."""
    message = session.scalar(
        select(Message).where(Message.id == message_id, Message.audience == "borrower")
    )
    if message is None:
        raise NotFound(N_("No such message."))
    return message


def held_until(message: Message, now: datetime) -> datetime | None:
    """When a message held by the quiet hours may go; None unless it is held."""
    if message.state == "pending" and message.attempts == 0 and not message.urgent:
        return message.send_after if message.send_after > now else None
    return None


def next_attempt_at(message: Message, now: datetime) -> datetime | None:
    """When a message that failed before is tried again; None unless it waits for that."""
    if message.state == "pending" and message.attempts > 0 and message.send_after > now:
        return message.send_after
    return None
