"""Fixtures for the e-mail plugin: a test authority and a certificate for ``localhost`` that
the client trusts through ``SSL_CERT_FILE`` (verification stays on), a real SMTP server on
127.0.0.1, tenant A with the plugin enabled and pointed at it through the plugins API, and
``Mail`` to put messages in the outbox and send them as the outbox job does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture, tenant_session
from tests.plugins.email.smtp_server import (
    PASSWORD,
    USERNAME,
    Certificates,
    Handler,
    make_certificates,
    running,
)

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai: no quiet hours
BORROWER = "zhangsan.borrower@mail.example.cn"
SENDER = "notice@xiaodai.example.cn"


class Mail:
    def __init__(self, app: Flask, tenant: TenantFixture, api: ApiClient, handler: Handler):
        self.app, self.tenant, self.api, self.handler = app, tenant, api, handler
        self.now = NOW
        self.port = 0

    def settings(self, **changes: Any) -> dict[str, Any]:
        return {
            "host": "localhost",
            "port": self.port,
            "security": "starttls",
            "username": USERNAME,
            "password": PASSWORD,
            "sender_address": SENDER,
            "sender_name": "某某小贷 客服中心",
            "reply_to": "service@xiaodai.example.cn",
            "subject_prefix": "【某某小贷】",
            "footer": "某某小贷有限公司\n客服电话 400-000-0000",
            "timeout_seconds": 5,
            **changes,
        }

    def configure(self, **changes: Any) -> None:
        answer = self.api.put(
            "/plugins/email", json={"enabled": True, "settings": self.settings(**changes)}
        )
        assert answer.status_code == 200, answer.get_json()

    def notify(self, key: str, text: str, subject: str = "", address: str = BORROWER) -> None:
        """A message to a borrower in the outbox, through the tenant's ``email`` channel."""
        from loandesk import pii
        from loandesk.notifications import service
        from loandesk.plugins import runtime

        with tenant_session(self.app, self.tenant.slug) as session:
            service.notify(
                session, "email", service.Recipient.borrower(address), text, key=key,
                subject=subject, channels=runtime.notification_channels(),
                keys=pii.for_current_tenant(), now=self.now,
            )  # fmt: skip

    def send(self, now: datetime | None = None) -> int:
        """Send what is due at ``now``, as ``core.send_messages`` does; how many went."""
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
def certificates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Certificates:
    made = make_certificates(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(made.authority))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return made


@pytest.fixture
def handler() -> Handler:
    return Handler()


@pytest.fixture
def mail(
    app: Flask,
    tenant_a: TenantFixture,
    api_a: ApiClient,
    handler: Handler,
    certificates: Certificates,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Mail]:
    """Tenant A with the plugin enabled and configured for a STARTTLS server with a login."""
    from loandesk import sdk

    shop = Mail(app, tenant_a, api_a, handler)
    monkeypatch.setattr(sdk, "utcnow", lambda: shop.now)
    with running(handler, certificates, "starttls") as port:
        shop.port = port
        shop.configure()
        yield shop
