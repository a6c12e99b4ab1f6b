"""The daily limit per address (每日条数上限): a channel that declares ``daily_limit`` lets
each borrower address get at most that many messages a tenant-local day. A message counts
once, at its first attempt and before the channel is called, whether or not the provider then
confirms it (a lost answer may still have reached the phone, and the limit is there to protect
the borrower). Counting is one conditional upsert, so two senders at once never pass the limit
together."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loandesk.db import uuid7
from loandesk.notifications.channels import Channel, Undeliverable
from loandesk.notifications.models import DailyCount, Message
from loandesk.pii import Keyring
from loandesk.tenancy import current, current_id


def local_day(moment: datetime, timezone: str) -> date:
    """The tenant-local date of ``moment``."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def count(session: Session, *, channel: str, address_hash: str, day: date, limit: int) -> bool:
    """Count one message to the address with ``address_hash`` through ``channel`` on ``day``;
    False, counting nothing, when the address already got ``limit`` messages that day."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    counted = session.execute(
        insert(DailyCount)
        .values(
            tenant_id=current_id(),
            id=uuid7(),
            channel=channel,
            address_hash=address_hash,
            day=day,
            sent=1,
        )
        .on_conflict_do_update(
            index_elements=["tenant_id", "channel", "address_hash", "day"],
            set_={"sent": DailyCount.sent + 1},
            where=DailyCount.sent < limit,
        )
        .returning(DailyCount.sent)
    ).first()
    return counted is not None


def admit(
    session: Session,
    message: Message,
    channel: Channel,
    address: str,
    keys: Keyring,
    now: datetime,
) -> None:
    """Count ``message`` against its channel's daily limit and commit, before the channel
    sends it; ``Undeliverable`` when its address is over the limit. A message counted before
    (a retry) passes without counting again; a channel without a limit, or a staff member's
    message, is not counted."""
    if channel.daily_limit is None or message.audience != "borrower":
        return
    if message.counted_on is not None:
        return
    limit = channel.daily_limit()
    day = local_day(now, current().timezone)
    address_hash = keys.search_hash(channel.address_kind, address)
    assert address_hash is not None  # the outbox encrypted the address: there is a data key
    if not count(session, channel=channel.key, address_hash=address_hash, day=day, limit=limit):
        session.rollback()
        raise Undeliverable(
            f"daily limit of {limit} messages to {message.address_masked} "
            f"reached on {day.isoformat()}"
        )
    message.counted_on = day
    session.commit()


def forget_old(session: Session, timezone: str, now: datetime) -> int:
    """Delete the counts of days before yesterday (tenant time): a message's retries are over
    within two hours, so yesterday's are the oldest still needed. How many rows went."""
    done = session.execute(
        delete(DailyCount).where(DailyCount.day < local_day(now, timezone) - timedelta(days=1))
    )
    return int(getattr(done, "rowcount", 0) or 0)
