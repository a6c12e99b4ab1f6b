# ruff: noqa: F811  (fixtures imported from the automation tests are used by name)
"""Fixtures for notifications: the automation tests' shop (intake, officers, a one-approver
flow) and ``Connector``, a test plugin registered on the running app that gives an ``sms`` and
an ``email`` channel standing in for a connector plugin; it records what it sends and can be
told to fail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from loandesk.sdk import Channel, OutgoingMessage, PluginInfo, hookimpl
from tests.helpers import ApiClient
from tests.platform.automations.conftest import shop  # noqa: F401
from tests.platform.flows.conftest import Desk, desk  # noqa: F401
from tests.plugins.customers.conftest import firm  # noqa: F401


class Connector:
    """A connector plugin: channels ``sms`` (borrowers) and ``email`` (borrowers, staff)."""

    PLUGIN = PluginInfo(name="fakesend", title_zh="测试短信", title_en="Test SMS", version="1")

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []
        self.failures = 0  # how many sends fail from now on
        self.daily_limit = 1000  # per borrower mobile, as an SMS plugin's setting gives it

    def _send(self, message: OutgoingMessage) -> str:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("provider down")
        self.sent.append(message)
        return f"p-{len(self.sent)}"

    @hookimpl
    def loandesk_notification_channels(self) -> list[Channel]:
        return [
            Channel("sms", "短信", "SMS", self._send, daily_limit=lambda: self.daily_limit),
            Channel(
                "email",
                "邮件",
                "E-mail",
                self._send,
                address_kind="email",
                audiences=frozenset({"borrower", "staff"}),
            ),
        ]


@pytest.fixture
def connector(desk: Desk, api_a: ApiClient) -> Iterator[Connector]:
    """The test connector, installed on the app and enabled for tenant A; removed after."""
    plugin = Connector()
    host = desk.app.extensions["loandesk.plugins"]
    host.register(plugin)
    try:
        host.gather_notification_channels()
        answer = api_a.put("/plugins/fakesend", json={"enabled": True})
        assert answer.status_code == 200, answer.get_json()
        yield plugin
    finally:
        host.pm.unregister(plugin)
        host.infos.pop("fakesend", None)
        host.contributions.pop("fakesend", None)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def messages(desk: Desk) -> list[Any]:
    """The tenant's outbox, oldest first, as plain tuples."""
    from sqlalchemy import select

    from loandesk.notifications.models import Message

    with desk.session() as session:
        rows = session.scalars(select(Message).order_by(Message.created_at, Message.key))
        return [
            (m.key, m.channel, m.audience, m.state, m.attempts, m.body, m.address_masked)
            for m in rows
        ]


def tools() -> tuple[Any, Any]:
    """The current tenant's channels and keyring (inside ``desk.session()``)."""
    from loandesk import pii
    from loandesk.plugins import runtime

    return runtime.notification_channels(), pii.for_current_tenant()
