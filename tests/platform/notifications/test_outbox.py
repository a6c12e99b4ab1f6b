"""The outbox: a key used twice makes one message; borrower messages wait through the
tenant's quiet hours unless urgent (the clock is given); the address is stored encrypted and
shown masked; a failing channel is retried with backoff, then the message is marked failed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.platform.flows.conftest import Desk
from tests.platform.notifications.conftest import Connector, messages, tools, utc

NIGHT = utc("2026-03-02 15:30")  # 23:30 in Asia/Shanghai
MORNING = utc("2026-03-03 00:00")  # 08:00 the next day there


def _sms(desk: Desk, key: str, *, urgent: bool = False, now=NIGHT) -> object:  # type: ignore[no-untyped-def]
    from loandesk.notifications import service

    with desk.session() as session:
        channels, keys = tools()
        message = service.notify(
            session, "sms", service.Recipient.borrower("138 0013 8000"), "您的借款已获批准",
            key=key, channels=channels, keys=keys, urgent=urgent, record=("application", "x1"),
            now=now,
        )  # fmt: skip
        return message.id


def _send(desk: Desk, now) -> int:  # type: ignore[no-untyped-def]
    from loandesk.notifications import service

    with desk.session() as session:
        channels, keys = tools()
        return service.send_due(session, channels, keys, now=now)


def test_the_same_key_makes_one_message_with_the_address_encrypted(
    desk: Desk, connector: Connector
) -> None:
    from loandesk.notifications.models import Message

    first = _sms(desk, "rule:1:app:1")
    assert _sms(desk, "rule:1:app:1") == first
    assert messages(desk) == [
        ("rule:1:app:1", "sms", "borrower", "pending", 0, "您的借款已获批准", "138****8000")
    ]
    with desk.session() as session:
        row = session.scalars(select(Message)).one()
        assert row.address_enc and "13800138000" not in row.address_enc
        assert "8000" not in row.address_enc


def test_quiet_hours_hold_borrower_messages_and_urgent_ones_go_at_once(
    desk: Desk, connector: Connector
) -> None:
    from loandesk.notifications.models import Message

    held, urgent = _sms(desk, "held"), _sms(desk, "urgent", urgent=True)
    with desk.session() as session:
        after = {m.id: m.send_after for m in session.scalars(select(Message))}
    assert after == {held: MORNING, urgent: NIGHT}
    assert _send(desk, NIGHT) == 1
    assert [(m.key, m.address, m.urgent) for m in connector.sent] == [
        ("urgent", "13800138000", True)
    ]
    assert _send(desk, MORNING - timedelta(minutes=1)) == 0
    assert _send(desk, MORNING) == 1
    assert [m.key for m in connector.sent] == ["urgent", "held"]
    with desk.session() as session:
        sent = {
            m.key: (m.state, m.provider_id, m.sent_at) for m in session.scalars(select(Message))
        }
    assert sent == {"urgent": ("sent", "p-1", NIGHT), "held": ("sent", "p-2", MORNING)}
    # nothing twice
    assert _send(desk, MORNING + timedelta(hours=1)) == 0 and len(connector.sent) == 2


@pytest.mark.parametrize(
    ("local", "start", "end", "until"),
    [
        ("07:59", "21:00", "08:00", "08:00 same day"),
        ("08:00", "21:00", "08:00", None),
        ("20:59", "21:00", "08:00", None),
        ("21:00", "21:00", "08:00", "08:00 next day"),
        ("12:30", "12:00", "14:00", "14:00 same day"),
        ("14:00", "12:00", "14:00", None),
        ("03:00", "00:00", "00:00", None),
    ],
)
def test_when_quiet_hours_end(local: str, start: str, end: str, until: str | None) -> None:
    from datetime import UTC, datetime

    from loandesk.notifications.quiet import Hours, held_until, parse_time

    zone = "Asia/Shanghai"
    from zoneinfo import ZoneInfo

    now = datetime.fromisoformat(f"2026-03-02 {local}").replace(tzinfo=ZoneInfo(zone))
    hours = Hours(parse_time(start), parse_time(end))  # type: ignore[arg-type]
    found = held_until(now.astimezone(UTC), zone, hours)
    if until is None:
        assert found is None
    else:
        at, _, which = until.partition(" ")
        day = 3 if which == "next day" else 2
        expected = datetime.fromisoformat(f"2026-03-0{day} {at}").replace(tzinfo=ZoneInfo(zone))
        assert found == expected


def test_a_tenant_sets_its_quiet_hours(desk: Desk, connector: Connector) -> None:
    from loandesk.errors import ValidationFailed
    from loandesk.notifications import quiet

    with desk.session() as session, pytest.raises(ValidationFailed) as refused:
        quiet.set_hours(session, "25:00", "07:00")
    assert set(refused.value.errors) == {"start"}
    with desk.session() as session:
        quiet.set_hours(session, "23:45", "7:00")
    assert _sms(desk, "late") and _sms(desk, "later", now=utc("2026-03-02 15:50"))
    with desk.session() as session:
        from loandesk.notifications.models import Message

        after = {m.key: m.send_after for m in session.scalars(select(Message))}
    assert after == {"late": NIGHT, "later": utc("2026-03-02 23:00")}  # 07:00 local


def test_a_failing_channel_is_retried_with_backoff_then_the_message_fails(
    desk: Desk, connector: Connector
) -> None:
    from loandesk.notifications import service
    from loandesk.notifications.models import Message

    _sms(desk, "retry", urgent=True)
    connector.failures = 1
    assert _send(desk, NIGHT) == 0
    with desk.session() as session:
        row = session.scalars(select(Message)).one()
        assert (row.state, row.attempts, row.last_error) == (
            "pending", 1, "ConnectionError: provider down",
        )  # fmt: skip
        assert row.send_after == NIGHT + service.BACKOFF[0]
    assert _send(desk, NIGHT + timedelta(seconds=29)) == 0  # not due yet
    assert _send(desk, NIGHT + service.BACKOFF[0]) == 1
    assert messages(desk)[0][3:5] == ("sent", 2)

    _sms(desk, "doomed", urgent=True)
    connector.failures = service.MAX_ATTEMPTS
    moment = NIGHT
    for _ in range(service.MAX_ATTEMPTS):
        _send(desk, moment)
        moment += timedelta(hours=2)
    with desk.session() as session:
        row = session.scalars(select(Message).where(Message.key == "doomed")).one()
        assert (row.state, row.attempts, row.sent_at) == ("failed", service.MAX_ATTEMPTS, None)
    assert _send(desk, moment + timedelta(days=1)) == 0
    assert [m.key for m in connector.sent] == ["retry"]


def test_a_channel_that_cannot_reach_the_recipient_is_refused(
    desk: Desk, connector: Connector
) -> None:
    from loandesk.errors import ValidationFailed
    from loandesk.notifications import service

    with desk.session() as session:
        channels, keys = tools()
        with pytest.raises(ValidationFailed):
            service.notify(session, "sms", service.Recipient.staff(desk.user("officer1")), "x",
                           key="k", channels=channels, keys=keys)  # fmt: skip
        with pytest.raises(ValidationFailed):
            service.notify(session, "wecom", service.Recipient.borrower("13800138000"), "x",
                           key="k", channels=channels, keys=keys)  # fmt: skip
        with pytest.raises(ValidationFailed):
            service.notify(session, "sms", service.Recipient.borrower("12345"), "x",
                           key="k", channels=channels, keys=keys)  # fmt: skip
    assert messages(desk) == []
