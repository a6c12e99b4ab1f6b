"""Fixtures for the WeCom plugin: a WeCom server API on 127.0.0.1 (``fake``), tenant A with
the plugin enabled and pointed at it through the plugins API, and ``Work`` to map staff to
WeCom userids, put staff messages in the outbox and send them as the outbox job does, at a
clock the test sets (the plugin's token cache reads it too)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.helpers import ApiClient, TenantFixture
from tests.plugins.json_server import running
from tests.plugins.staff_channel import StaffChannelShop
from tests.plugins.wecom.wecom_server import FakeWeCom

CORP_ID = "ww5f3a9c0d1e2b4a67"
APP_SECRET = "app-secret-Qx7Lm2Vb9Nc4Rt8Z"
AGENT_ID = 1000002
ROBOT_KEY = "693a91f6-7xx4-4bc4-97a0-0ec2sifa5aaa"
SECRETS = (APP_SECRET, ROBOT_KEY)


class Work(StaffChannelShop):
    plugin, channel, field = "wecom", "wecom.work", "wecom_userid"

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
