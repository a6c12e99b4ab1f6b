"""Fixtures for the Tencent Cloud SMS plugin: the test API server running on 127.0.0.1, tenant
A with the plugin enabled and pointed at it through the plugins API, a clock the plugin reads
(set with each send, so that local days do not depend on when the suite runs), and ``Sms`` to
put messages in the outbox and send them as the outbox job does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture, tenant_session
from tests.plugins.sms_tencent.tencent_server import FakeTencent, running

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai: no quiet hours
MOBILE = "13800138000"
SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
SECRET = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"


class Sms:
    def __init__(self, app: Flask, tenant: TenantFixture, api: ApiClient, gateway: FakeTencent):
        self.app, self.tenant, self.api, self.gateway = app, tenant, api, gateway
        self.now = NOW

    def settings(self, **changes: Any) -> dict[str, Any]:
        return {
            "secret_id": SECRET_ID,
            "secret_key": SECRET,
            "endpoint": self.gateway.endpoint,
            "sms_sdk_app_id": "1400006666",
            "sign_name": "某某小贷",
            "template_id": "449739",
            "timeout_seconds": 5,
            **changes,
        }

    def configure(self, **changes: Any) -> None:
        answer = self.api.put(
            "/plugins/sms_tencent", json={"enabled": True, "settings": self.settings(**changes)}
        )
        assert answer.status_code == 200, answer.get_json()

    def notify(self, key: str, text: str, mobile: str = MOBILE, *, urgent: bool = False) -> None:
        """A message to a borrower in the outbox, through the tenant's ``sms`` channel."""
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
        """The tenant's messages by key."""
        from loandesk.notifications.models import Message

        with tenant_session(self.app, self.tenant.slug) as session:
            return {m.key: m for m in session.scalars(select(Message))}

    @property
    def tenant_id(self) -> uuid.UUID:
        return uuid.UUID(self.tenant.id)


@pytest.fixture
def gateway() -> Iterator[FakeTencent]:
    with running(FakeTencent(secret_id=SECRET_ID, secret_key=SECRET)) as server:
        yield server


@pytest.fixture
def sms(
    app: Flask,
    tenant_a: TenantFixture,
    api_a: ApiClient,
    gateway: FakeTencent,
    monkeypatch: pytest.MonkeyPatch,
) -> Sms:
    """Tenant A with the plugin enabled and configured for the test gateway."""
    from loandesk import sdk

    shop = Sms(app, tenant_a, api_a, gateway)
    monkeypatch.setattr(sdk, "utcnow", lambda: shop.now)
    shop.configure()
    return shop
