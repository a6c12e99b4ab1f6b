"""Fixtures for the DingTalk plugin: a DingTalk open API on 127.0.0.1 (``dingtalk_server``),
tenant A with the plugin enabled and pointed at it through the plugins API, and ``Ding`` to
map staff to DingTalk userids, put staff messages in the outbox and send them as the outbox
job does, at a clock the test sets (the plugin's token cache reads it too)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.helpers import ApiClient, TenantFixture
from tests.plugins.dingtalk.dingtalk_server import FakeDingTalk
from tests.plugins.json_server import running
from tests.plugins.staff_channel import StaffChannelShop

APP_KEY = "dingoa7kq2xx"
APP_SECRET = "app-secret-Zk81Qw0pLm4N"
AGENT_ID = 2987654321
ROBOT_TOKEN = "robot-token-5d2a18fe0c"
ROBOT_SECRET = "SEC0d6b1e7c4f2a9e8d3b5c"
SECRETS = (APP_SECRET, ROBOT_TOKEN, ROBOT_SECRET)


class Ding(StaffChannelShop):
    plugin, channel, field = "dingtalk", "dingtalk.work", "dingtalk_userid"

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
