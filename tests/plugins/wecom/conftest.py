"""Fixtures for the WeCom plugin: a WeCom server API on 127.0.0.1 (``fake``), tenant A with
the plugin enabled and pointed at it through the plugins API, and ``Work`` to map staff to
WeCom userids, put staff messages in the outbox and send them as the outbox job does, at a
clock the test sets (the plugin's token cache reads it too)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture, tenant_session
from tests.plugins.json_server import running
from tests.plugins.wecom.wecom_server import FakeWeCom

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
CORP_ID = "ww5f3a9c0d1e2b4a67"
APP_SECRET = "app-secret-Qx7Lm2Vb9Nc4Rt8Z"
AGENT_ID = 1000002
ROBOT_KEY = "693a91f6-7xx4-4bc4-97a0-0ec2sifa5aaa"
SECRETS = (APP_SECRET, ROBOT_KEY)


class Work:
    def __init__(self, app: Flask, tenant: TenantFixture, api: ApiClient, fake: FakeWeCom):
        self.app, self.tenant, self.api, self.fake = app, tenant, api, fake
        self.now = NOW

    def settings(self, **changes: Any) -> dict[str, Any]:
        return {
            "base_url": self.fake.url,
            "corp_id": CORP_ID,
            "agent_id": AGENT_ID,
            "app_secret": APP_SECRET,
            "robot_key": ROBOT_KEY,
            "timeout_seconds": 5,
            **changes,
        }

    def configure(self, **changes: Any) -> None:
        answer = self.api.put(
            "/plugins/wecom", json={"enabled": True, "settings": self.settings(**changes)}
        )
        assert answer.status_code == 200, answer.get_json()

    def map(self, user_id: str | uuid.UUID, wecom_userid: str | None) -> Any:
        answer = self.api.put(f"/wecom/staff/{user_id}", json={"wecom_userid": wecom_userid})
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    def notify(self, key: str, user_id: str | uuid.UUID, subject: str, body: str,
               record: tuple[str, str] | None = None) -> None:  # fmt: skip
        """A message to a staff member in the outbox, through ``wecom.work``."""
        from loandesk import pii
        from loandesk.notifications import service
        from loandesk.plugins import runtime

        with tenant_session(self.app, self.tenant.slug) as session:
            service.notify(
                session, "wecom.work", service.Recipient.staff(uuid.UUID(str(user_id))),
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
def fake() -> Iterator[FakeWeCom]:
    with running(FakeWeCom(CORP_ID, APP_SECRET, AGENT_ID, ROBOT_KEY)) as server:
        yield server


@pytest.fixture
def work(
    app: Flask,
    tenant_a: TenantFixture,
    api_a: ApiClient,
    fake: FakeWeCom,
    monkeypatch: pytest.MonkeyPatch,
) -> Work:
    """Tenant A with the plugin enabled and configured for the local WeCom."""
    from loandesk import sdk

    shop = Work(app, tenant_a, api_a, fake)
    monkeypatch.setattr(sdk, "utcnow", lambda: shop.now)
    shop.configure()
    return shop
