# ruff: noqa: F811  (fixtures imported from the flow and customers tests are used by name)
"""The group robot action (发送企业微信群消息) in a real automation rule, posted to a WeCom robot
on 127.0.0.1 that checks its key; a robot that refuses is retried and logged without the key;
the app secret and the robot's key appear in no log line, audit row, settings answer or page,
stored error or run log."""

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
from tests.plugins.wecom.conftest import ROBOT_KEY, SECRETS, Work
from tests.plugins.wecom.wecom_server import FakeWeCom

RULE = {
    "name": "新进件通知群",
    "record_type": "application",
    "trigger": {"kind": "event", "event": "application.submitted"},
    "actions": [
        {
            "type": "wecom.group_message",
            "msgtype": "markdown",
            "text": '#### 新进件 {{ title }}\n申请金额：<font color="warning">{{ amount }}</font>'
            " 元，期限 {{ term_months }} 个月",
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


def test_a_rule_posts_a_markdown_message_to_the_group(
    app: Flask, desk: Desk, work: Work, fake: FakeWeCom
) -> None:
    desk.publish([approver("review", [desk.user("risk")])])
    save_rule(desk, RULE)
    application_id, _instance = desk.submit("30000")
    number = (
        desk.firm.staff["officer1"].api.get(f"/applications/{application_id}").get_json()["number"]
    )
    _run(app, desk.firm.tenant.id, "core.deliver_events")
    _run(app, desk.firm.tenant.id, "core.run_firings")

    # the server keeps a post only when it came with the robot's key and a well-formed body
    assert fake.robot_posts == [
        {
            "msgtype": "markdown",
            "markdown": {"content": f"#### 新进件 {number}\n申请金额：<font color=\"warning\">"
                                    "30000.00</font> 元，期限 12 个月"},
        }
    ]  # fmt: skip
    assert fake.problems == []
    assert [(state, error) for state, _attempts, error in _firings(desk)] == [("done", "")]


def test_a_rule_with_a_wrong_robot_key_is_retried_and_logged_without_the_key(
    app: Flask, desk: Desk, work: Work, fake: FakeWeCom, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "0f0e0d0c-dead-beef-0000-robotkeywrong"
    work.configure(robot_key=wrong)
    desk.publish([approver("review", [desk.user("risk")])])
    save_rule(desk, {**RULE, "actions": [{"type": "wecom.group_message",
                                          "text": "新申请 {{ amount }} 元"}]})  # fmt: skip
    desk.submit("30000")
    with caplog.at_level("DEBUG"):
        _run(app, desk.firm.tenant.id, "core.deliver_events")
        _run(app, desk.firm.tenant.id, "core.run_firings")
    [(state, attempts, error)] = _firings(desk)
    assert (state, attempts) == ("pending", 1)
    assert "WeCom errcode 93000: invalid webhook url" in error
    assert "from ip" not in error  # WeCom's hint and the caller's address are left out
    assert fake.robot_posts == []
    assert "/cgi-bin/webhook/send?key=***" in caplog.text  # urllib3's request line, masked
    for text in (error, caplog.text):
        for secret in (*SECRETS, wrong):
            assert secret not in text


def test_a_rule_is_checked_when_saved(desk: Desk, work: Work) -> None:
    from loandesk.errors import ValidationFailed

    bad = {**RULE, "actions": [{"type": "wecom.group_message", "msgtype": "news",
                                "text": "{{ no_such_field }}"}]}  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        save_rule(desk, bad)
    assert set(refused.value.errors) >= {"actions.0.msgtype", "actions.0.text"}
    too_long = {**RULE, "actions": [{"type": "wecom.group_message", "msgtype": "text",
                                     "text": "长" * 700}]}  # 2100 bytes > 2048  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        save_rule(desk, too_long)
    assert set(refused.value.errors) == {"actions.0.text"}


def test_secrets_appear_nowhere(
    app: Flask, tenant_a: TenantFixture, api_a: ApiClient, work: Work, fake: FakeWeCom,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    from loandesk.audit.models import AuditEvent
    from tests.helpers import tenant_session

    work.map(tenant_a.admin_user_id, "admin001")
    with caplog.at_level("DEBUG"):
        work.configure(timeout_seconds=6)  # saved twice: two audit rows
        fake.answers = ["rate_limited", "bad_user"]
        work.notify("m1", tenant_a.admin_user_id, "", "第一条")
        work.notify("m2", tenant_a.admin_user_id, "待审批", "第二条", ("flow", str(uuid.uuid4())))
        assert work.send() == 0
        fake.expire_tokens()
        fake.app_secret = "the-secret-was-changed"  # gettoken now refuses ours: 40001
        work.notify("m3", tenant_a.admin_user_id, "", "第三条")
        assert work.send() == 0
    errors = [m.last_error for m in work.outbox().values()]
    assert all(errors) and any("40001" in e for e in errors)
    assert "corpsecret=***" in caplog.text and "access_token=***" in caplog.text

    shown = api_a.get("/plugins/wecom")
    assert set(shown.get_json()["secrets_set"]) == {"app_secret", "robot_key"}
    listed = api_a.get("/plugins")
    staff = api_a.get("/wecom/staff")
    client = app.test_client()
    web_login(client, tenant_a)
    page = client.get(f"/t/{tenant_a.slug}/admin/plugins/wecom/settings")
    assert page.status_code == 200 and "群机器人 Webhook key" in page.get_data(as_text=True)
    with tenant_session(app, tenant_a.slug) as session:
        audits = [json.dumps(a.diff, ensure_ascii=False) for a in session.scalars(
            select(AuditEvent))]  # fmt: skip
    assert any("robot_key" in a for a in audits)  # the change is there, not the value
    texts = [*errors, caplog.text, *audits, shown.get_data(as_text=True),
             listed.get_data(as_text=True), staff.get_data(as_text=True),
             page.get_data(as_text=True)]  # fmt: skip
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
    assert ROBOT_KEY[:13] not in "".join(texts)
