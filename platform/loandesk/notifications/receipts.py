"""Delivery receipts (回执): a provider tells, some time after accepting a message, whether it
reached the handset. A connector plugin receives them (its own route under the tenant's URL)
and records each with ``record``; as SMS providers do not sign these pushes, the route's URL
carries a per-tenant random token that ``token_accepted`` compares in constant time, auditing
a wrong one."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.callbacks import record_refused
from loandesk.notifications.models import Message
from loandesk.pii.logfilter import scrub as scrub_personal


def beijing_time(text: Any) -> datetime | None:
    """A Chinese provider's ``YYYY-MM-DD HH:MM:SS`` (Beijing time) as an aware datetime; None
    when it is not one."""
    try:
        parsed = datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return parsed.replace(tzinfo=ZoneInfo("Asia/Shanghai"))


def record(
    session: Session,
    channel: str,
    provider_message_id: str,
    delivered: bool,
    at: datetime | None,
    detail: str = "",
) -> Message | None:
    """Set the delivery state of the message the channel's provider knows as
    ``provider_message_id`` (delivered or not to the handset, when, the provider's detail with
    any mobile number masked), in the caller's transaction; None when no message of the
    current tenant has that id (a receipt for another system's message, or a test)."""
    if not provider_message_id:
        return None
    message = session.scalar(
        select(Message).where(
            Message.channel == channel, Message.provider_id == provider_message_id
        )
    )
    if message is None:
        return None
    message.delivery = "delivered" if delivered else "undelivered"
    message.delivered_at = at
    message.delivery_detail = scrub_personal(" ".join(detail.split()))[:300]
    session.flush()
    return message


def receive(
    session: Session,
    plugin: str,
    given: str,
    expected: str | None,
    record_all: Callable[[Session, Any], object],
    body: bytes,
    remote_addr: str | None,
) -> int:
    """A receipt push to ``plugin``'s URL with token ``given``: 403 unless it is the tenant's
    ``expected`` (constant time), 400 when ``record_all`` refuses the parsed body with
    ``ValueError``, both audited as refused callbacks; else committed, 200."""
    if not (expected and hmac.compare_digest(given.encode(), expected.encode())):
        reason = "wrong receipt token" if expected else "no receipt token is set"
        record_refused(session, "delivery_receipt", plugin, reason, body, remote_addr)
        return 403
    try:
        parsed = json.loads(body)
    except ValueError:  # not JSON: ``record_all`` refuses None as not its documented body
        parsed = None
    try:
        record_all(session, parsed)
    except ValueError as problem:
        record_refused(session, "delivery_receipt", plugin, str(problem), body, remote_addr)
        return 400
    session.commit()
    return 200
