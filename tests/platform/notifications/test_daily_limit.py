"""The outbox's daily limit per address: a channel that declares one lets each borrower
address get at most that many messages a tenant-local day (counted in one core table, the
address hashed); a message is counted once, at its first attempt; two senders at once never
pass the limit together; the nightly job forgets old days."""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from tests.platform.flows.conftest import Desk
from tests.platform.notifications.conftest import Connector, tools, utc

MOBILE, OTHER = "13800138000", "13912345678"
MORNING = utc("2026-03-03 02:00")  # 10:00 in Asia/Shanghai: no quiet hours


def _sms(desk: Desk, key: str, mobile: str = MOBILE, now=MORNING) -> None:  # type: ignore[no-untyped-def]
    from loandesk.notifications import service

    with desk.session() as session:
        channels, keys = tools()
        service.notify(
            session, "sms", service.Recipient.borrower(mobile), f"提醒 {key}", key=key,
            channels=channels, keys=keys, urgent=True, now=now,
        )  # fmt: skip


def _send(desk: Desk, now) -> int:  # type: ignore[no-untyped-def]
    from loandesk.notifications import service

    with desk.session() as session:
        channels, keys = tools()
        return service.send_due(session, channels, keys, now=now)


def _outbox(desk: Desk) -> dict[str, tuple[str, int, str]]:
    from loandesk.notifications.models import Message

    with desk.session() as session:
        return {
            m.key: (m.state, m.attempts, m.last_error) for m in session.scalars(select(Message))
        }


def _counts(desk: Desk) -> dict[tuple[str, str, date], int]:
    from loandesk.notifications.models import DailyCount

    with desk.session() as session:
        rows = session.scalars(select(DailyCount))
        return {(c.channel, c.address_hash, c.day): c.sent for c in rows}


def test_each_address_gets_at_most_the_channels_limit_per_local_day(
    desk: Desk, connector: Connector
) -> None:
    from loandesk import pii

    connector.daily_limit = 2
    for seconds, key in enumerate(("d1", "d2", "other", "d3")):
        _sms(desk, key, OTHER if key == "other" else MOBILE, MORNING + timedelta(seconds=seconds))
    assert _send(desk, MORNING + timedelta(minutes=1)) == 3
    assert _outbox(desk) == {
        "d1": ("sent", 1, ""), "d2": ("sent", 1, ""), "other": ("sent", 1, ""),
        "d3": ("failed", 1,
               "Undeliverable: daily limit of 2 messages to 138****8000 reached on 2026-03-03"),
    }  # fmt: skip
    assert [m.address for m in connector.sent] == [MOBILE, MOBILE, OTHER]
    assert _send(desk, MORNING + timedelta(hours=2)) == 0  # a refused message is not retried

    # 23:55 in Shanghai is still the same day; 00:05 is the next (the same day in UTC)
    _sms(desk, "late", now=utc("2026-03-03 15:55"))
    assert _send(desk, utc("2026-03-03 15:55")) == 0
    _sms(desk, "next-day", now=utc("2026-03-03 16:05"))
    assert _send(desk, utc("2026-03-03 16:05")) == 1
    assert _outbox(desk)["next-day"][0] == "sent"

    with desk.session():
        hashed = pii.for_current_tenant().search_hash("mobile", MOBILE)
        other = pii.for_current_tenant().search_hash("mobile", OTHER)
    assert _counts(desk) == {
        ("sms", hashed, date(2026, 3, 3)): 2,
        ("sms", other, date(2026, 3, 3)): 1,
        ("sms", hashed, date(2026, 3, 4)): 1,
    }
    assert all(MOBILE not in h and OTHER not in h for _c, h, _d in _counts(desk))


def test_a_message_is_counted_once_whatever_its_attempts(desk: Desk, connector: Connector) -> None:
    from loandesk.notifications import service
    from loandesk.notifications.models import Message

    connector.daily_limit, connector.failures = 1, 1  # a second count would refuse the retry
    _sms(desk, "remind:7")
    assert _send(desk, MORNING) == 0
    assert _outbox(desk)["remind:7"][:2] == ("pending", 1)
    assert _send(desk, MORNING + service.BACKOFF[0]) == 1
    assert _outbox(desk)["remind:7"] == ("sent", 2, "")
    assert list(_counts(desk).values()) == [1]

    # failed for good, then put back by staff: still the message counted that day
    connector.failures = service.MAX_ATTEMPTS
    _sms(desk, "remind:8", OTHER)
    later = MORNING
    for _ in range(service.MAX_ATTEMPTS):
        later += timedelta(hours=2)
        _send(desk, later)
    assert _outbox(desk)["remind:8"][:2] == ("failed", service.MAX_ATTEMPTS)
    with desk.session() as session:
        row = session.scalars(select(Message).where(Message.key == "remind:8")).one()
        service.retry(session, row, timezone="Asia/Shanghai", now=later)
    assert _send(desk, later) == 1
    assert sorted(_counts(desk).values()) == [1, 1]


def test_a_channel_without_a_limit_and_staff_messages_are_not_counted(
    desk: Desk, connector: Connector
) -> None:
    from loandesk.notifications import service

    with desk.session() as session:
        channels, keys = tools()
        service.notify(
            session, "email", service.Recipient.borrower("a@example.com"), "x", key="e1",
            channels=channels, keys=keys, urgent=True, now=MORNING,
        )  # fmt: skip
        service.notify(
            session, "email", service.Recipient.staff(desk.user("officer1")), "x", key="e2",
            channels=channels, keys=keys, urgent=True, now=MORNING,
        )  # fmt: skip
    assert _send(desk, MORNING) == 2
    assert _counts(desk) == {}


def test_senders_at_once_never_pass_the_limit_together(desk: Desk, connector: Connector) -> None:
    from loandesk import sdk
    from loandesk.notifications import limits
    from loandesk.tenancy import service, use

    with desk.session() as session:
        tenant = service.get_by_slug(session, desk.firm.tenant.slug).ref()
    senders, start, results = 8, threading.Barrier(8), []

    def sender() -> None:
        with desk.app.app_context(), use(tenant):
            start.wait()
            with sdk.transaction() as session:
                taken = limits.count(
                    session, channel="sms", address_hash="h" * 64, day=date(2026, 3, 3), limit=3
                )
            results.append(taken)

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True] * 3
    assert list(_counts(desk).values()) == [3]


def test_old_counts_are_forgotten_by_the_nightly_job(desk: Desk, connector: Connector) -> None:
    from loandesk.db import utcnow
    from loandesk.jobs.runtime import execute
    from loandesk.notifications import limits
    from loandesk.notifications.models import DailyCount

    today = limits.local_day(utcnow(), "Asia/Shanghai")
    days = [today - timedelta(days=3), today - timedelta(days=1), today]
    with desk.session() as session:
        for day in days:
            limits.count(session, channel="sms", address_hash="h" * 64, day=day, limit=9)
    tenant_id = uuid.UUID(desk.firm.tenant.id)
    execute(desk.app, "job-f", "core.forget_message_counts", tenant_id, (), 1, lambda _d, _t: None)
    with desk.session() as session:
        assert sorted(session.scalars(select(DailyCount.day))) == days[1:]
        assert session.scalar(select(func.count()).select_from(DailyCount)) == 2


def test_the_migrations_move_the_counts_to_the_core_and_back(tmp_path: Path) -> None:
    """Upgraded, the SMS plugins' own count tables are gone and the core's is there; down to
    0030 the plugins' come back (empty) and the core's go; up again, as it was."""
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from loandesk.migrate import alembic_config
    from tests.helpers import installed_plugins

    url = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    config = alembic_config(url, installed_plugins())
    engine = create_engine(url)
    plugins = {f"sms_{p}_{t}" for p in ("http", "aliyun", "tencent")
               for t in ("daily_counts", "counted_messages")}  # fmt: skip
    core = {"notification_daily_counts", "sms_templates"}
    try:
        command.upgrade(config, "heads")
        tables = set(inspect(engine).get_table_names())
        assert core <= tables and not plugins & tables
        command.downgrade(config, "0030")
        tables = set(inspect(engine).get_table_names())
        assert plugins <= tables and not core & tables
        columns = {c["name"] for c in inspect(engine).get_columns("notification_messages")}
        assert not {"counted_on", "template_key", "delivery"} & columns
        command.upgrade(config, "heads")
        tables = set(inspect(engine).get_table_names())
        assert core <= tables and not plugins & tables
    finally:
        engine.dispose()
