# ruff: noqa: F811  (fixtures imported from the flow and customers tests are used by name)
"""The group robot action (发送钉钉群消息) in a real automation rule, posted signed (加签) to a
DingTalk robot on 127.0.0.1 that recomputes the signature; a robot that refuses is retried and
logged without a secret; the app secret and the robot's token and secret appear in no log
line, audit row, settings answer or page, stored error or run log."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture, web_login
from tests.platform.automations.conftest import save_rule
from tests.platform.flows.conftest import Desk, approver, desk  # noqa: F401
from tests.plugins.customers.conftest import _fresh_id_numbers, firm  # noqa: F401
from tests.plugins.dingtalk.conftest import ROBOT_SECRET, SECRETS, Ding
from tests.plugins.dingtalk.dingtalk_server import FakeDingTalk
from tests.plugins.staff_channel import NOW

RULE = {
    "name": "新进件通知群",
    "record_type": "application",
    "trigger": {"kind": "event", "event": "application.submitted"},
    "actions": [
        {
            "type": "dingtalk.group_message",
            "msgtype": "markdown",
            "title": "新进件",
            "text": "#### 新进件\n申请金额：{{ amount }} 元，期限 {{ term_months }} 个月",
        }
    ],
}


def _run(app: Flask, tenant_id: str, name: str) -> None:
    from loandesk.jobs.runtime import execute

    execute(app, f"{name}-{uuid.uuid4()}", name, uuid.UUID(tenant_id), (), 1,
            lambda done, total: None)  # fmt: skip


def _firings(desk: Desk) -> list[Any]:
    from loandesk.automations.models import RuleFiring

    with desk.session() as session:
        return [(f.state, f.attempts, f.last_error) for f in session.scalars(select(RuleFiring))]


def test_a_rule_posts_a_signed_markdown_message_to_the_group(
    app: Flask, desk: Desk, ding: Ding, fake: FakeDingTalk
) -> None:
    desk.publish([approver("review", [desk.user("risk")])])
    save_rule(desk, RULE)
    desk.submit("30000")
    _run(app, desk.firm.tenant.id, "core.deliver_events")
    _run(app, desk.firm.tenant.id, "core.run_firings")

    # the server keeps a post only when its sign matches the secret's signature of timestamp
    assert fake.robot_posts == [
        {
            "timestamp": str(int(NOW.timestamp() * 1000)),
            "body": {
                "msgtype": "markdown",
                "markdown": {"title": "新进件",
                             "text": "#### 新进件\n申请金额：30000.00 元，期限 12 个月"},
            },
        }
    ]  # fmt: skip
    assert [(state, error) for state, _attempts, error in _firings(desk)] == [("done", "")]


def test_the_signature_is_the_documented_one() -> None:
    """DingTalk's documentation: sign = urlencode(base64(hmac_sha256(secret,
    timestamp + "\\n" + secret))); the query carries it URL-encoded."""
    import base64
    import hashlib
    import hmac

    from loandesk_dingtalk.openapi import robot_sign

    secret, timestamp = "SECexample0123456789", 1577262236757
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert robot_sign(secret, timestamp) == expected


def test_a_rule_with_a_wrong_robot_secret_is_retried_and_logged_without_secrets(
    app: Flask, desk: Desk, ding: Ding, fake: FakeDingTalk, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "SECwrong-secret-00000000"
    ding.configure(robot_secret=wrong)
    desk.publish([approver("review", [desk.user("risk")])])
    save_rule(desk, {**RULE, "actions": [{"type": "dingtalk.group_message",
                                          "text": "新申请 {{ amount }} 元"}]})  # fmt: skip
    desk.submit("30000")
    with caplog.at_level("DEBUG"):
        _run(app, desk.firm.tenant.id, "core.deliver_events")
        _run(app, desk.firm.tenant.id, "core.run_firings")
    [(state, attempts, error)] = _firings(desk)
    assert (state, attempts) == ("pending", 1)
    assert "DingTalk errcode 310000: sign not match" in error
    assert fake.robot_posts == []
    for text in (error, caplog.text):
        for secret in (*SECRETS, wrong):
            assert secret not in text


def test_a_rule_is_checked_when_saved(desk: Desk, ding: Ding) -> None:
    from loandesk.errors import ValidationFailed

    bad = {**RULE, "actions": [{"type": "dingtalk.group_message", "msgtype": "image",
                                "text": "{{ no_such_field }}"}]}  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        save_rule(desk, bad)
    assert set(refused.value.errors) >= {"actions.0.msgtype", "actions.0.text"}


def test_secrets_appear_nowhere(
    app: Flask, tenant_a: TenantFixture, api_a: ApiClient, ding: Ding, fake: FakeDingTalk,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    from loandesk.audit.models import AuditEvent
    from tests.helpers import tenant_session

    ding.map(tenant_a.admin_user_id, "admin001")
    with caplog.at_level("DEBUG"):
        ding.configure(timeout_seconds=6)  # saved twice: two audit rows
        fake.answers = ["rate_limited", "bad_user"]
        ding.notify("m1", tenant_a.admin_user_id, "", "第一条")
        ding.notify("m2", tenant_a.admin_user_id, "待审批", "第二条", ("flow", str(uuid.uuid4())))
        assert ding.send() == 0
        fake.expire_tokens()
        fake.app_secret = "the-secret-was-changed"  # gettoken now refuses ours: 40089
        ding.notify("m3", tenant_a.admin_user_id, "", "第三条")
        assert ding.send() == 0
    errors = [m.last_error for m in ding.outbox().values()]
    assert all(errors) and any("40089" in e for e in errors)

    shown = api_a.get("/plugins/dingtalk")
    assert set(shown.get_json()["secrets_set"]) == {"app_secret", "robot_access_token",
                                                    "robot_secret"}  # fmt: skip
    listed = api_a.get("/plugins")
    staff = api_a.get("/dingtalk/staff")
    client = app.test_client()
    web_login(client, tenant_a)
    page = client.get(f"/t/{tenant_a.slug}/admin/plugins/dingtalk/settings")
    assert page.status_code == 200 and "群机器人加签密钥" in page.get_data(as_text=True)
    with tenant_session(app, tenant_a.slug) as session:
        audits = [json.dumps(a.diff, ensure_ascii=False) for a in session.scalars(
            select(AuditEvent))]  # fmt: skip
    assert any("robot_secret" in a for a in audits)  # the change is there, not the value
    texts = [*errors, caplog.text, *audits, shown.get_data(as_text=True),
             listed.get_data(as_text=True), staff.get_data(as_text=True),
             page.get_data(as_text=True)]  # fmt: skip
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
    assert ROBOT_SECRET[:12] not in "".join(texts)
