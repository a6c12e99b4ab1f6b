# ruff: noqa: F811  (fixtures imported from the flow and customers tests are used by name)
"""DingTalk work notifications against a DingTalk open API on 127.0.0.1: an approval task
reaches the approver as an action card linking to it; one access token serves many messages
until shortly before it expires, a refused token is fetched again once, a rate limit is tried
again later, an invalid userid fails at once; staff without a DingTalk userid get nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import Flask

from tests.platform.flows.conftest import Desk, approver, desk  # noqa: F401
from tests.plugins.customers.conftest import _fresh_id_numbers, firm  # noqa: F401
from tests.plugins.dingtalk.conftest import AGENT_ID, Ding
from tests.plugins.dingtalk.dingtalk_server import FakeDingTalk

ASSIGNED = "An approval task was assigned to you in LoanDesk. Open it to decide."


def zh(app: Flask, msgid: str) -> str:
    """``msgid`` as the tenant (zh_CN) reads it: the catalog's Chinese once it has the
    plugin's texts (/tmp/zh-dingtalk.json), the English until then."""
    from flask_babel import gettext

    from loandesk.sdk import in_locale

    with app.app_context(), in_locale("zh_CN"):
        return gettext(msgid)


def _run(app: Flask, tenant_id: str, name: str) -> None:
    """Run job ``name`` for the tenant in this process, as a worker would."""
    from loandesk.jobs.runtime import execute

    execute(app, f"{name}-{uuid.uuid4()}", name, uuid.UUID(tenant_id), (), 1,
            lambda done, total: None)  # fmt: skip


def test_an_approval_task_reaches_the_approver_as_a_dingtalk_work_notification(
    app: Flask, desk: Desk, ding: Ding, fake: FakeDingTalk
) -> None:
    ding.map(desk.user("risk"), "manager0831")
    desk.publish([approver("review", [desk.user("risk")])])
    _application_id, instance_id = desk.submit("30000")
    tenant_id = desk.firm.tenant.id

    _run(app, tenant_id, "core.deliver_events")  # flow.assigned: the message is queued
    _run(app, tenant_id, "core.send_messages")
    _run(app, tenant_id, "core.deliver_events")  # delivered already: nothing new
    _run(app, tenant_id, "core.send_messages")

    assert fake.accepted == [
        {
            "agent_id": AGENT_ID,
            "userid_list": "manager0831",
            "msg": {
                "msgtype": "action_card",
                "action_card": {
                    "title": zh(app, "An approval is waiting for you"),
                    "markdown": f"### {zh(app, 'An approval is waiting for you')}\n\n"
                    + zh(app, ASSIGNED),
                    "single_title": zh(app, "Open in LoanDesk"),
                    "single_url": ding.link(f"/approvals/{instance_id}"),
                },
            },
        }
    ]
    assert fake.token_requests == 1
    [message] = [m for m in ding.outbox().values() if m.channel == "dingtalk.work"]
    assert (message.state, message.user_id, message.provider_id) == (
        "sent", desk.user("risk"), "256271667527",
    )  # fmt: skip


def test_staff_without_a_dingtalk_userid_get_no_work_notification(
    app: Flask, desk: Desk, ding: Ding, fake: FakeDingTalk
) -> None:
    desk.publish([approver("review", [desk.user("risk"), desk.user("officer2")], mode="any")])
    ding.map(desk.user("officer2"), "officer2dd")
    ding.map(desk.user("officer2"), None)  # unmapped again
    desk.submit("30000")
    _run(app, desk.firm.tenant.id, "core.deliver_events")
    _run(app, desk.firm.tenant.id, "core.send_messages")
    assert [m for m in ding.outbox().values() if m.channel == "dingtalk.work"] == []
    assert fake.sends == [] and fake.token_requests == 0


def test_a_todo_for_a_mapped_staff_member_links_to_the_todo_list(
    app: Flask, ding: Ding, fake: FakeDingTalk
) -> None:
    from loandesk import sdk
    from tests.helpers import tenant_session

    ding.map(ding.tenant.admin_user_id, "admin001")
    with tenant_session(app, ding.tenant.slug) as session:
        sdk.create_todo(session, "回访客户张三", source="test",
                        assignee_user_id=uuid.UUID(ding.tenant.admin_user_id))  # fmt: skip
    _run(app, ding.tenant.id, "core.deliver_events")
    _run(app, ding.tenant.id, "core.send_messages")
    [sent] = fake.accepted
    assert sent["userid_list"] == "admin001"
    assert zh(app, "Enter a text.") == "请填写内容。"  # the tenant's language is used
    title = zh(app, "New to-do for you")
    assert sent["msg"]["action_card"]["title"] == title
    assert sent["msg"]["action_card"]["markdown"] == f"### {title}\n\n回访客户张三"
    assert sent["msg"]["action_card"]["single_url"] == ding.link("/todos/")


def test_one_token_serves_messages_until_shortly_before_it_expires(
    ding: Ding, fake: FakeDingTalk
) -> None:
    ding.map(ding.tenant.admin_user_id, "admin001")
    ding.notify("m1", ding.tenant.admin_user_id, "", "第一条")
    ding.notify("m2", ding.tenant.admin_user_id, "", "第二条")
    assert ding.send() == 2
    assert fake.token_requests == 1
    assert [s["msg"] for s in fake.accepted] == [
        {"msgtype": "text", "text": {"content": "第一条"}},
        {"msgtype": "text", "text": {"content": "第二条"}},
    ]

    ding.notify("m3", ding.tenant.admin_user_id, "", "第三条")
    assert ding.send(ding.now + timedelta(seconds=7200 - 6 * 60)) == 1  # 6 min left: kept
    assert fake.token_requests == 1
    ding.notify("m4", ding.tenant.admin_user_id, "", "第四条")
    assert ding.send(ding.now + timedelta(minutes=2)) == 1  # 4 min left: fetched again
    assert fake.token_requests == 2 and len(fake.accepted) == 4


def test_an_expired_token_is_fetched_again_once_and_the_message_sent(
    ding: Ding, fake: FakeDingTalk
) -> None:
    ding.map(ding.tenant.admin_user_id, "admin001")
    ding.notify("m1", ding.tenant.admin_user_id, "", "第一条")
    assert ding.send() == 1
    fake.expire_tokens()  # DingTalk answers 42001 to the cached token
    ding.notify("m2", ding.tenant.admin_user_id, "", "第二条")
    assert ding.send() == 1
    assert fake.token_requests == 2
    assert [s["msg"]["text"]["content"] for s in fake.accepted] == ["第一条", "第二条"]
    row = ding.outbox()["m2"]
    assert (row.state, row.attempts, row.last_error) == ("sent", 1, "")


def test_a_rate_limit_is_tried_again_later(ding: Ding, fake: FakeDingTalk) -> None:
    from loandesk.notifications.service import BACKOFF

    ding.map(ding.tenant.admin_user_id, "admin001")
    fake.answers = ["rate_limited"]
    ding.notify("m1", ding.tenant.admin_user_id, "", "第一条")
    assert ding.send() == 0
    row = ding.outbox()["m1"]
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error == (
        "DingTalkError: DingTalk errcode 90018: 当前企业调用该接口超过频率限制 (tried again later)"
    )
    assert ding.send(ding.now + BACKOFF[0]) == 1
    assert len(fake.sends) == 2 and len(fake.accepted) == 1
    assert ding.outbox()["m1"].state == "sent"


def test_an_invalid_userid_fails_at_once(ding: Ding, fake: FakeDingTalk) -> None:
    from loandesk.notifications.service import BACKOFF

    ding.map(ding.tenant.admin_user_id, "nobody-here")
    fake.answers = ["bad_user"]
    ding.notify("m1", ding.tenant.admin_user_id, "", "第一条")
    assert ding.send() == 0
    row = ding.outbox()["m1"]
    assert (row.state, row.attempts, row.last_error) == (
        "failed", 1, "Undeliverable: DingTalk errcode 33012: 无效的USERID",
    )  # fmt: skip
    assert ding.send(ding.now + BACKOFF[-1]) == 0
    assert len(fake.sends) == 1


def test_the_staff_mapping_is_checked_and_audited(ding: Ding) -> None:
    assert ding.api.put(f"/dingtalk/staff/{uuid.uuid4()}",
                        json={"dingtalk_userid": "x1"}).status_code == 404  # fmt: skip
    refused = ding.api.put(f"/dingtalk/staff/{ding.tenant.admin_user_id}",
                           json={"dingtalk_userid": "有 空格"})  # fmt: skip
    assert refused.status_code == 422 and "dingtalk_userid" in refused.get_json()["errors"]
    shown = ding.map(ding.tenant.admin_user_id, "admin001")
    assert shown["dingtalk_userid"] == "admin001"
    listed = ding.api.get("/dingtalk/staff").get_json()
    assert {r["user_id"]: r["dingtalk_userid"] for r in listed} == {
        ding.tenant.admin_user_id: "admin001"
    }
    other = ding.api.post(
        "/users",
        json={"email": "li@a.cn", "display_name": "李娜", "password": "Correct-horse-42",
              "roles": ["credit_officer"]},
    ).get_json()["id"]  # fmt: skip
    taken = ding.api.put(f"/dingtalk/staff/{other}", json={"dingtalk_userid": "admin001"})
    assert taken.status_code == 422 and "dingtalk_userid" in taken.get_json()["errors"]
    assert ding.map(other, "li001")["dingtalk_userid"] == "li001"
