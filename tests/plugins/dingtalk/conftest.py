"""Fixtures for the DingTalk plugin: a DingTalk open API on 127.0.0.1 (``dingtalk_server``),
tenant A with the plugin enabled and pointed at it through the plugins API, and ``Ding`` to
map staff to DingTalk userids, put staff messages in the outbox and send them as the outbox
job does, at a clock the test sets (the plugin's token cache reads it too)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture, tenant_session
from tests.plugins.dingtalk.dingtalk_server import FakeDingTalk
from tests.plugins.json_server import running

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
APP_KEY = "dingoa7kq2xx"
APP_SECRET = "app-secret-Zk81Qw0pLm4N"
AGENT_ID = 2987654321
ROBOT_TOKEN = "robot-token-5d2a18fe0c"
ROBOT_SECRET = "SEC0d6b1e7c4f2a9e8d3b5c"
SECRETS = (APP_SECRET, ROBOT_TOKEN, ROBOT_SECRET)


class Ding:
    def __init__(self, app: Flask, tenant: TenantFixture, api: ApiClient, fake: FakeDingTalk):
        self.app, self.tenant, self.api, self.fake = app, tenant, api, fake
        self.now = NOW

    def settings(self, **changes: Any) -> dict[str, Any]:
        return {
            "base_url": self.fake.url,
            "app_key": APP_KEY,
            "app_secret": APP_SECRET,
            "agent_id": AGENT_ID,
            "robot_access_token": ROBOT_TOKEN,
            "robot_secret": ROBOT_SECRET,
            "timeout_seconds": 5,
            **changes,
        }

    def configure(self, **changes: Any) -> None:
        answer = self.api.put(
            "/plugins/dingtalk", json={"enabled": True, "settings": self.settings(**changes)}
        )
        assert answer.status_code == 200, answer.get_json()

    def map(self, user_id: str | uuid.UUID, dingtalk_userid: str | None) -> Any:
        answer = self.api.put(f"/dingtalk/staff/{user_id}",
                              json={"dingtalk_userid": dingtalk_userid})  # fmt: skip
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    def notify(self, key: str, user_id: str | uuid.UUID, subject: str, body: str,
               record: tuple[str, str] | None = None) -> None:  # fmt: skip
        """A message to a staff member in the outbox, through ``dingtalk.work``."""
        from loandesk import pii
        from loandesk.notifications import service
        from loandesk.plugins import runtime

        with tenant_session(self.app, self.tenant.slug) as session:
            service.notify(
                session, "dingtalk.work", service.Recipient.staff(uuid.UUID(str(user_id))),
                body, subject=subject, key=key, channels=runtime.notification_channels(),
                keys=pii.for_current_tenant(), record=record, now=self.now,
            )  # fmt: skip

    def send(self, now: datetime | None = None) -> int:
        """Send what is due at ``now`` (the plugin's clock too), as ``core.send_messages``
        does; how many went."""
        from loandesk import pii
        from loandesk.notifications import service
        from loandesk.plugins import runtime

        self.now = now or self.now
        with tenant_session(self.app, self.tenant.slug) as session:
            channels, keys = runtime.notification_channels(), pii.for_current_tenant()
            return service.send_due(session, channels, keys, now=self.now)

    def outbox(self) -> dict[str, Any]:
        from loandesk.notifications.models import Message

        with tenant_session(self.app, self.tenant.slug) as session:
            return {m.key: m for m in session.scalars(select(Message))}

    def link(self, path: str) -> str:
        base = self.app.extensions["loandesk"].settings.base_url.rstrip("/")
        return f"{base}/t/{self.tenant.slug}{path}"


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    with running(FakeDingTalk(APP_KEY, APP_SECRET, AGENT_ID, ROBOT_TOKEN, ROBOT_SECRET)) as server:
        yield server


@pytest.fixture
def ding(
    app: Flask,
    tenant_a: TenantFixture,
    api_a: ApiClient,
    fake: FakeDingTalk,
    monkeypatch: pytest.MonkeyPatch,
) -> Ding:
    """Tenant A with the plugin enabled and configured for the local DingTalk."""
    from loandesk import sdk

    shop = Ding(app, tenant_a, api_a, fake)
    monkeypatch.setattr(sdk, "utcnow", lambda: shop.now)
    shop.configure()
    return shop
