# ruff: noqa: F811  (fixtures imported from the flow and customers tests are used by name)
"""WeCom app messages against a WeCom server API on 127.0.0.1: an approval task reaches the
approver as a text_notice card with the application's key facts, linking to it; a to-do as a
card linking to the to-do list; one access token serves many messages until shortly before it
expires, a refused token is fetched again once, a rate limit or a busy WeCom is tried again
later, so is a WeCom that does not answer in time; an invalid or unlicensed userid fails at
once; staff without a WeCom userid get nothing; another tenant sees neither the routes (until it
enables the plugin) nor the mapping."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from tests.helpers import ApiClient, TenantFixture
from tests.platform.flows.conftest import Desk, approver, desk  # noqa: F401
from tests.plugins.customers.conftest import _fresh_id_numbers, firm  # noqa: F401
from tests.plugins.wecom.conftest import AGENT_ID, Work
from tests.plugins.wecom.wecom_server import FakeWeCom

ASSIGNED = "An approval task was assigned to you in LoanDesk. Open it to decide."


def zh(app: Flask, msgid: str) -> str:
    """``msgid`` as the tenant (zh_CN) reads it: the catalog's Chinese once it has the
    plugin's texts (/tmp/zh-wecom.json), the English until then."""
    from flask_babel import gettext

    from loandesk.sdk import in_locale

    with app.app_context(), in_locale("zh_CN"):
        return gettext(msgid)


def _run(app: Flask, tenant_id: str, name: str) -> None:
    """Run job ``name`` for the tenant in this process, as a worker would."""
    from loandesk.jobs.runtime import execute

    execute(app, f"{name}-{uuid.uuid4()}", name, uuid.UUID(tenant_id), (), 1,
            lambda done, total: None)  # fmt: skip


def test_an_approval_task_reaches_the_approver_as_a_card_with_the_key_facts(
    app: Flask, desk: Desk, work: Work, fake: FakeWeCom
) -> None:
    work.map(desk.user("risk"), "Manager0831")
    desk.publish([approver("review", [desk.user("risk")])])
    application_id, instance_id = desk.submit("30000")
    number = (
        desk.firm.staff["officer1"].api.get(f"/applications/{application_id}").get_json()["number"]
    )
    tenant_id = desk.firm.tenant.id

    _run(app, tenant_id, "core.deliver_events")  # flow.assigned: the message is queued
    _run(app, tenant_id, "core.send_messages")
    _run(app, tenant_id, "core.deliver_events")  # delivered already: nothing new
    _run(app, tenant_id, "core.send_messages")

    link = work.link(f"/approvals/{instance_id}")
    assert fake.accepted == [
        {
            "touser": "Manager0831",
            "agentid": AGENT_ID,
            "msgtype": "template_card",
            "template_card": {
                "card_type": "text_notice",
                "source": {"desc": "LoanDesk"},
                "main_title": {"title": zh(app, "An approval is waiting for you")},
                "sub_title_text": zh(app, ASSIGNED),
                "horizontal_content_list": [
                    {"keyname": zh(app, "Application number"), "value": number},
                    {"keyname": zh(app, "Amount"), "value": "¥30,000.00"},
                    {"keyname": zh(app, "Term (months)"), "value": "12"},
                ],
                "jump_list": [{"type": 1, "title": zh(app, "Open in LoanDesk"), "url": link}],
                "card_action": {"type": 1, "url": link},
            },
        }
    ]
    assert fake.token_requests == 1 and fake.problems == []
    [message] = [m for m in work.outbox().values() if m.channel == "wecom.work"]
    assert (message.state, message.user_id, message.provider_id) == (
        "sent", desk.user("risk"), "msgid-1",
    )  # fmt: skip


def test_staff_without_a_wecom_userid_get_nothing(
    app: Flask, desk: Desk, work: Work, fake: FakeWeCom
) -> None:
    desk.publish([approver("review", [desk.user("risk"), desk.user("officer2")], mode="any")])
    work.map(desk.user("officer2"), "officer2")
    work.map(desk.user("officer2"), None)  # unmapped again
    desk.submit("30000")
    _run(app, desk.firm.tenant.id, "core.deliver_events")
    _run(app, desk.firm.tenant.id, "core.send_messages")
    assert [m for m in work.outbox().values() if m.channel == "wecom.work"] == []
    assert fake.sends == [] and fake.token_requests == 0


def test_a_todo_for_a_mapped_staff_member_is_a_card_linking_to_the_todo_list(
    app: Flask, work: Work, fake: FakeWeCom
) -> None:
    from loandesk import sdk
    from tests.helpers import tenant_session

    work.map(work.tenant.admin_user_id, "admin001")
    with tenant_session(app, work.tenant.slug) as session:
        sdk.create_todo(session, "回访客户张三：确认还款日", source="test",
                        assignee_user_id=uuid.UUID(work.tenant.admin_user_id))  # fmt: skip
    _run(app, work.tenant.id, "core.deliver_events")
    _run(app, work.tenant.id, "core.send_messages")
    [sent] = fake.accepted
    assert (sent["touser"], sent["msgtype"]) == ("admin001", "template_card")
    card = sent["template_card"]
    assert card["main_title"] == {"title": zh(app, "New to-do for you")}
    assert card["sub_title_text"] == "回访客户张三：确认还款日"  # its first paragraph: no facts
    assert "horizontal_content_list" not in card
    assert card["card_action"] == {"type": 1, "url": work.link("/todos/")}


def test_one_token_serves_messages_until_shortly_before_it_expires(
    work: Work, fake: FakeWeCom
) -> None:
    work.map(work.tenant.admin_user_id, "admin001")
    work.notify("m1", work.tenant.admin_user_id, "", "第一条")
    work.notify("m2", work.tenant.admin_user_id, "", "第二条")
    assert work.send() == 2
    assert fake.token_requests == 1
    assert [s["text"] for s in fake.accepted] == [{"content": "第一条"}, {"content": "第二条"}]

    work.notify("m3", work.tenant.admin_user_id, "", "第三条")
    assert work.send(work.now + timedelta(seconds=7200 - 6 * 60)) == 1  # 6 min left: kept
    assert fake.token_requests == 1
    work.notify("m4", work.tenant.admin_user_id, "", "第四条")
    assert work.send(work.now + timedelta(minutes=2)) == 1  # 4 min left: fetched again
    assert fake.token_requests == 2 and len(fake.accepted) == 4


def test_an_expired_token_is_fetched_again_once_and_the_message_sent(
    work: Work, fake: FakeWeCom
) -> None:
    work.map(work.tenant.admin_user_id, "admin001")
    work.notify("m1", work.tenant.admin_user_id, "", "第一条")
    assert work.send() == 1
    fake.expire_tokens()  # WeCom answers 42001 to the cached token
    work.notify("m2", work.tenant.admin_user_id, "", "第二条")
    assert work.send() == 1
    assert fake.token_requests == 2
    assert [s["text"]["content"] for s in fake.accepted] == ["第一条", "第二条"]
    row = work.outbox()["m2"]
    assert (row.state, row.attempts, row.last_error) == ("sent", 1, "")


def _first_attempt(work: Work, fake: FakeWeCom, answer: str, userid: str) -> tuple[Any, ...]:
    """A message to the admin (WeCom userid ``userid``), sent once and answered ``answer``:
    the outbox row's state, attempts and error."""
    work.map(work.tenant.admin_user_id, userid)
    fake.answers = [answer]
    work.notify("m1", work.tenant.admin_user_id, "", "第一条")
    assert work.send() == 0
    row = work.outbox()["m1"]
    return (row.state, row.attempts, row.last_error)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("rate_limited", "WeComError: WeCom errcode 45009: api freq out of limit "
                         "(tried again later)"),
        ("busy", "WeComError: WeCom errcode -1: system busy (tried again later)"),
        ("slow", "WeComError: /cgi-bin/message/send: no answer within 1 s"),
    ],
)  # fmt: skip
def test_a_rate_limit_a_busy_wecom_or_no_answer_in_time_is_tried_again_later(
    work: Work, fake: FakeWeCom, answer: str, error: str
) -> None:
    from loandesk.notifications.service import BACKOFF

    work.configure(timeout_seconds=1)
    fake.delay = 2.5  # how long a "slow" answer takes
    assert _first_attempt(work, fake, answer, "admin001") == ("pending", 1, error)
    assert work.send(work.now + BACKOFF[0]) == 1
    assert len(fake.sends) == 2 and len(fake.accepted) == 1
    assert work.outbox()["m1"].state == "sent"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("bad_user", "Undeliverable: WeCom errcode 81013: user & party & tag all invalid"),
        ("unlicensed", "Undeliverable: WeCom errcode 0: unlicenseduser Nobody-Here"),
    ],
)  # fmt: skip
def test_an_invalid_or_unlicensed_userid_fails_at_once(
    work: Work, fake: FakeWeCom, answer: str, error: str
) -> None:
    from loandesk.notifications.service import BACKOFF

    assert _first_attempt(work, fake, answer, "Nobody-Here") == ("failed", 1, error)
    assert work.send(work.now + BACKOFF[-1]) == 0
    assert len(fake.sends) == 1


def test_a_wrong_app_secret_fails_at_once_without_showing_it(work: Work, fake: FakeWeCom) -> None:
    work.configure(app_secret="not-the-app-secret")
    work.map(work.tenant.admin_user_id, "admin001")
    work.notify("m1", work.tenant.admin_user_id, "", "第一条")
    assert work.send() == 0
    row = work.outbox()["m1"]
    assert (row.state, row.last_error) == (
        "failed", "Undeliverable: WeCom errcode 40001: invalid credential",
    )  # fmt: skip
    assert fake.sends == []


def test_the_staff_mapping_is_checked_and_audited(work: Work) -> None:
    from sqlalchemy import select

    from loandesk.audit.models import AuditEvent
    from tests.helpers import tenant_session

    assert work.api.put(f"/wecom/staff/{uuid.uuid4()}",
                        json={"wecom_userid": "x1"}).status_code == 404  # fmt: skip
    for wrong in ("有 空格", "_starts-with-underscore", "x" * 65):
        refused = work.api.put(f"/wecom/staff/{work.tenant.admin_user_id}",
                               json={"wecom_userid": wrong})  # fmt: skip
        assert refused.status_code == 422 and "wecom_userid" in refused.get_json()["errors"]
    shown = work.map(work.tenant.admin_user_id, "zhang.san@hq")
    assert shown["wecom_userid"] == "zhang.san@hq"
    listed = work.api.get("/wecom/staff").get_json()
    assert {r["user_id"]: r["wecom_userid"] for r in listed} == {
        work.tenant.admin_user_id: "zhang.san@hq"
    }
    with tenant_session(work.app, work.tenant.slug) as session:
        [audit] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "wecom.staff_account")
        ).all()
    assert audit.diff == {"wecom_userid": [None, "zhang.san@hq"]}


def test_another_tenant_sees_neither_the_routes_nor_the_mapping(
    work: Work, tenant_b: TenantFixture, api_b: ApiClient
) -> None:
    work.map(work.tenant.admin_user_id, "admin001")
    assert api_b.get("/wecom/staff").status_code == 404  # not enabled there
    assert api_b.put("/plugins/wecom", json={"enabled": True}).status_code == 200
    listed = api_b.get("/wecom/staff").get_json()
    assert [r["wecom_userid"] for r in listed] == [None]  # its own admin, not mapped
    assert api_b.put(f"/wecom/staff/{work.tenant.admin_user_id}",
                     json={"wecom_userid": "intruder"}).status_code == 404  # fmt: skip
    assert work.api.get("/wecom/staff").get_json()[0]["wecom_userid"] == "admin001"
