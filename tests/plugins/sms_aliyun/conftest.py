"""Fixtures for the Alibaba Cloud SMS plugin: the test Dysmsapi running on 127.0.0.1, tenant A
with the plugin enabled and pointed at it through the plugins API, a clock the plugin reads,
and ``Sms`` to put messages in the outbox and send them as the outbox job does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture, tenant_session
from tests.plugins.sms_aliyun.dysms_server import FakeDysms, running

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai: no quiet hours
MOBILE = "13800138000"
ACCESS_KEY_ID = "LTAI5tTestKeyId0001"
SECRET = "aliyun-secret-Zq81vX3k9"

__all__ = ["ACCESS_KEY_ID", "MOBILE", "NOW", "SECRET", "Sms", "tenant_session"]


class Sms:
    def __init__(self, app: Flask, tenant: TenantFixture, api: ApiClient, dysms: FakeDysms):
        self.app, self.tenant, self.api, self.dysms = app, tenant, api, dysms
        self.now = NOW

    def settings(self, **changes: Any) -> dict[str, Any]:
        return {
            "access_key_id": ACCESS_KEY_ID,
            "access_key_secret": SECRET,
            "endpoint": self.dysms.host,
            "sign_name": "某某小贷",
            "template_code": "SMS_465012345",
            "template_param": "content",
            "timeout_seconds": 5,
            **changes,
        }

    def configure(self, **changes: Any) -> None:
        answer = self.api.put(
            "/plugins/sms_aliyun", json={"enabled": True, "settings": self.settings(**changes)}
        )
        assert answer.status_code == 200, answer.get_json()

    def notify(self, key: str, text: str, mobile: str = MOBILE, *, urgent: bool = False) -> None:
        from loandesk import pii
        from loandesk.notifications import service
        from loandesk.plugins import runtime

        with tenant_session(self.app, self.tenant.slug) as session:
            service.notify(
                session, "sms", service.Recipient.borrower(mobile), text, key=key,
                channels=runtime.notification_channels(), keys=pii.for_current_tenant(),
                urgent=urgent, now=self.now,
            )  # fmt: skip

    def send(self, now: datetime | None = None) -> int:
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

    @property
    def tenant_id(self) -> uuid.UUID:
        return uuid.UUID(self.tenant.id)


@pytest.fixture
def dysms() -> Iterator[FakeDysms]:
    with running(FakeDysms(access_key_id=ACCESS_KEY_ID, secret=SECRET)) as server:
        yield server


@pytest.fixture
def sms(
    app: Flask,
    tenant_a: TenantFixture,
    api_a: ApiClient,
    dysms: FakeDysms,
    monkeypatch: pytest.MonkeyPatch,
) -> Sms:
    """Tenant A with the plugin enabled and configured for the test Dysmsapi."""
    from loandesk import sdk

    shop = Sms(app, tenant_a, api_a, dysms)
    monkeypatch.setattr(sdk, "utcnow", lambda: shop.now)
    shop.configure()
    return shop
