"""The daily limit per mobile number: a message counts once, at its first attempt and before
the request goes out, whether or not Tencent Cloud then confirms it (a lost answer may still
have reached the phone, and the limit is there to protect the borrower). Counting is one
conditional upsert, so two senders at once never pass the limit together."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_sms_tencent.models import CountedMessage, DailyCount


def count(session: Session, *, message_key: str, mobile_hash: str, day: date, limit: int) -> bool:
    """Count message ``message_key`` to the mobile with ``mobile_hash`` on ``day`` (tenant
    time); False, counting nothing, when the mobile already got ``limit`` messages that day. A
    message counted before (a retry) is allowed and not counted again."""
    already = select(CountedMessage.id).where(CountedMessage.message_key == message_key)
    if session.scalar(already) is not None:
        return True
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    tenant_id = sdk.current().id
    counted = session.execute(
        insert(DailyCount)
        .values(tenant_id=tenant_id, id=sdk.uuid7(), mobile_hash=mobile_hash, day=day, sent=1)
        .on_conflict_do_update(
            index_elements=["tenant_id", "mobile_hash", "day"],
            set_={"sent": DailyCount.sent + 1},
            where=DailyCount.sent < limit,
        )
        .returning(DailyCount.sent)
    ).first()
    if counted is None:
        return False
    session.add(CountedMessage(message_key=message_key, day=day))
    return True


def forget_before(session: Session, day: date) -> None:
    """Delete the counts of the days before ``day``."""
    session.execute(delete(DailyCount).where(DailyCount.day < day))
    session.execute(delete(CountedMessage).where(CountedMessage.day < day))
