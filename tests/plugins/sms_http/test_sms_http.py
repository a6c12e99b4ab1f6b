"""The HTTP SMS gateway plugin against a gateway on 127.0.0.1: a borrower's message goes out
rendered, signed and once; a failed or lost answer is retried with the same idempotency key and
not counted twice; refusals are kept with the mobile masked and without the secret; each mobile
gets at most the daily limit per tenant-local day, also with senders at once; a tenant without
the plugin has no ``sms`` channel; the settings are checked and the secret never shown."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from loandesk.sdk import Channel, PluginInfo, hookimpl
from tests.helpers import ApiClient, TenantFixture, web_login
from tests.plugins.sms_http.conftest import MOBILE, NOW, SECRET, Sms, tenant_session
from tests.plugins.sms_http.gateway_server import FakeGateway

OTHER = "13912345678"


def test_a_borrower_message_reaches_the_gateway_rendered_signed_and_once(
    app: Flask, sms: Sms, gateway: FakeGateway
) -> None:
    from loandesk.jobs.runtime import execute

    sms.notify("loan:1:approved", "您的借款已获批准")
    execute(app, "job-1", "core.send_messages", sms.tenant_id, (), 1, lambda _d, _t: None)
    execute(app, "job-2", "core.send_messages", sms.tenant_id, (), 1, lambda _d, _t: None)

    assert gateway.accepted == [
        {
            "account": "ld-test",
            "mobile": MOBILE,
            "content": "【某某小贷】您的借款已获批准",
            "sign": "【某某小贷】",
            "request_id": "loan:1:approved",
            "timestamp": int(NOW.timestamp()),
        }
    ]
    assert gateway.requests == ["loan:1:approved"]
    row = sms.outbox()["loan:1:approved"]
    assert (row.state, row.attempts, row.provider_id, row.last_error) == ("sent", 1, "gw-1", "")


def test_a_templated_message_gives_the_gateway_its_code_params_and_text(
    app: Flask, sms: Sms, gateway: FakeGateway
) -> None:
    """``{{template}}`` is the template's code, ``{{params}}`` its params as a JSON object (in
    placeholder order), ``{{content}}`` the rendered text; free text gets "" and {}."""
    from loandesk.db import utcnow
    from tests.helpers import send_templated_sms

    body = {"to": "{{mobile}}", "text": "{{content}}", "tpl": "{{template}}",
            "vars": "{{params}}", "raw": "p={{params}}"}  # fmt: skip
    sms.configure(prepend_signature=False, body_template=json.dumps(body))
    template = {"key": "loan.paid", "name": "放款通知", "provider_code": "T-88",
                "text": "{name}您好，您的借款 {amount} 元已放款"}  # fmt: skip
    send_templated_sms(app, sms.api, sms.tenant.slug, template, {"amount": "5,000", "name": "张三"})
    sms.notify("free", "自由文本")  # at the fixture's 10:00, outside quiet hours
    assert sms.send(now=utcnow()) == 2  # sdk.send_sms queued the first at the real time
    # both went; the order follows their send times (one fixed, one real), so compare as a set
    assert sorted(gateway.accepted, key=lambda sent: sent["tpl"]) == [
        {"to": MOBILE, "text": "自由文本", "tpl": "", "vars": {}, "raw": "p={}"},
        {
            "to": MOBILE, "text": "张三您好，您的借款 5,000 元已放款", "tpl": "T-88",
            "vars": {"name": "张三", "amount": "5,000"},
            "raw": 'p={"name": "张三", "amount": "5,000"}',
        },
    ]  # fmt: skip


def test_the_example_in_the_docs_renders_and_signs_as_documented() -> None:
    """docs/connectors.md gives gateway developers this body and signature to check against."""
    from loandesk_sms_http.gateway import render, signature
    from loandesk_sms_http.settings import DEFAULT_TEMPLATE

    values = {
        "account": "ld-demo", "mobile": "13800138000", "content": "【某某小贷】您的借款已获批准",
        "signature": "【某某小贷】", "key": "rule:3:loan:42", "timestamp": 1772416800,
    }  # fmt: skip
    body = render(DEFAULT_TEMPLATE, values)
    assert body.decode() == (
        '{"account":"ld-demo","mobile":"13800138000","content":"【某某小贷】您的借款已获批准",'
        '"sign":"【某某小贷】","request_id":"rule:3:loan:42","timestamp":1772416800}'
    )
    assert signature("example-secret-key", "1772416800", body) == (
        "f6a6f1031c2d00aba549ddcaa85d12bd7bf27265a0ea627d24d4f2f4a828bce8"
    )


def test_the_signature_can_go_separately_and_values_cannot_break_the_json(
    sms: Sms, gateway: FakeGateway
) -> None:
    template = {"to": ["{{mobile}}"], "text": "{{content}}", "sign": "{{signature}}", "n": 1}
    sms.configure(prepend_signature=False, body_template=json.dumps(template))
    sms.notify("quote", '还款提醒："}, "mobile": "13900000000')
    assert sms.send() == 1
    assert gateway.accepted == [
        {
            "to": [MOBILE],
            "text": '还款提醒："}, "mobile": "13900000000',
            "sign": "【某某小贷】",
            "n": 1,
        }
    ]


@pytest.mark.parametrize("failure", ["http500", "slow"])
def test_a_failed_or_lost_answer_is_retried_with_the_same_key_and_counted_once(
    sms: Sms, gateway: FakeGateway, failure: str
) -> None:
    from loandesk.notifications.service import BACKOFF

    sms.configure(timeout_seconds=1, daily_limit=1)  # a second count would refuse the retry
    gateway.answers = [failure]
    sms.notify("remind:7", "明天是还款日")
    assert sms.send() == 0
    gateway.release.set()
    first = sms.outbox()["remind:7"]
    assert (first.state, first.attempts) == ("pending", 1)
    expected = "HTTP 500" if failure == "http500" else "no answer within 1 s"
    assert first.last_error.startswith(f"GatewayError: {expected}")

    assert sms.send(NOW + BACKOFF[0]) == 1
    assert gateway.requests == ["remind:7", "remind:7"]
    assert [m["content"] for m in gateway.accepted] == ["【某某小贷】明天是还款日"]
    row = sms.outbox()["remind:7"]
    assert (row.state, row.attempts, row.provider_id, row.last_error) == ("sent", 2, "gw-1", "")


@pytest.mark.parametrize(
    ("answer", "secret", "error"),
    [
        ("refuse", SECRET, 'GatewayError: code is 1001, not 0: {"code": 1001, "msg": '
         '"invalid mobile 138****8000"}'),
        ("http500", SECRET, 'GatewayError: HTTP 500: {"code": 500, "msg": "internal error"}'),
        ("ok", "another-secret-1234", "GatewayError: HTTP 401: "
         '{"code": 401, "msg": "signature mismatch"}'),
    ],
)  # fmt: skip
def test_a_refusal_is_kept_masked_and_without_the_secret(
    sms: Sms, gateway: FakeGateway, caplog: pytest.LogCaptureFixture,
    answer: str, secret: str, error: str,
) -> None:  # fmt: skip
    sms.configure(secret_key=secret)
    gateway.answers = [answer]
    sms.notify("approved", "您的借款已获批准")
    with caplog.at_level("DEBUG"):
        assert sms.send() == 0
    row = sms.outbox()["approved"]
    assert (row.state, row.attempts, row.last_error) == ("pending", 1, error)
    assert gateway.accepted == []
    for text in (row.last_error, caplog.text):
        assert MOBILE not in text and SECRET not in text and secret not in text


def test_each_mobile_gets_at_most_the_daily_limit_per_local_day(
    app: Flask, sms: Sms, gateway: FakeGateway
) -> None:
    from loandesk import pii

    sms.configure(daily_limit=2)
    for seconds, key in enumerate(("d1", "d2", "other", "d3")):
        sms.now = NOW + timedelta(seconds=seconds)  # sent in this order
        sms.notify(key, f"提醒 {key}", OTHER if key == "other" else MOBILE)
    assert sms.send(NOW + timedelta(minutes=1)) == 3
    outbox = sms.outbox()
    assert {k: (m.state, m.attempts) for k, m in outbox.items()} == {
        "d1": ("sent", 1), "d2": ("sent", 1), "other": ("sent", 1), "d3": ("failed", 1),
    }  # fmt: skip
    assert outbox["d3"].last_error == (
        "Undeliverable: daily limit of 2 messages to 138****8000 reached on 2025-03-03"
    )
    assert [m["mobile"] for m in gateway.accepted] == [MOBILE, MOBILE, OTHER]
    assert sms.send(NOW + timedelta(hours=2)) == 0  # a refused message is not retried

    # 23:55 in Shanghai is still the same day; 00:05 is the next (the same day in UTC)
    sms.now = NOW.replace(hour=15, minute=55)
    sms.notify("late", "晚间提醒", urgent=True)
    assert sms.send() == 0 and sms.outbox()["late"].state == "failed"
    sms.now = NOW.replace(hour=16, minute=5)
    sms.notify("next-day", "次日提醒", urgent=True)
    assert sms.send() == 1 and sms.outbox()["next-day"].state == "sent"

    from loandesk.notifications.models import DailyCount

    with tenant_session(app, sms.tenant.slug) as session:
        counts = {
            (c.channel, c.address_hash, c.day): c.sent for c in session.scalars(select(DailyCount))
        }
        hashed = pii.for_current_tenant().search_hash("mobile", MOBILE)
        other = pii.for_current_tenant().search_hash("mobile", OTHER)
    assert counts == {
        ("sms", hashed, date(2025, 3, 3)): 2,
        ("sms", other, date(2025, 3, 3)): 1,
        ("sms", hashed, date(2025, 3, 4)): 1,
    }


def test_a_tenant_without_the_plugin_has_no_sms_channel(
    app: Flask, sms: Sms, tenant_b: TenantFixture, api_b: ApiClient, gateway: FakeGateway
) -> None:
    from loandesk import pii
    from loandesk.errors import ValidationFailed
    from loandesk.notifications import service
    from loandesk.plugins import runtime

    assert api_b.get("/plugins/sms_http").get_json()["enabled"] is False
    with tenant_session(app, tenant_b.slug) as session:
        channels = runtime.notification_channels()
        assert "sms" not in channels
        with pytest.raises(ValidationFailed):
            service.notify(
                session, "sms", service.Recipient.borrower(MOBILE), "x", key="b1",
                channels=channels, keys=pii.for_current_tenant(), now=NOW,
            )  # fmt: skip
    with tenant_session(app, sms.tenant.slug):
        assert runtime.notification_channels()["sms"].address_kind == "mobile"
    assert gateway.requests == []


def test_settings_are_checked_and_the_secret_is_never_shown(
    app: Flask, sms: Sms, api_a: ApiClient, tenant_a: TenantFixture
) -> None:
    refused = api_a.put(
        "/plugins/sms_http",
        json={
            "settings": sms.settings(
                gateway_url="ftp://gw.example.cn/send",
                body_template='{"to": "{{mobile}}", "text": "{{content}}", "x": "{{secret}}"}',
                success_field="a..b",
                daily_limit=0,
            )
        },
    )
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {
        "gateway_url", "body_template", "success_field", "daily_limit",
    }  # fmt: skip
    for template, problem in [
        ("[1]", "Enter a JSON object."),
        ('{"text": "{{content}}"}', "The body needs {{mobile}} and {{content}}."),
    ]:
        answer = api_a.put("/plugins/sms_http", json={"settings": {"body_template": template}})
        assert answer.get_json()["errors"] == {"body_template": [problem]}

    shown = api_a.get("/plugins/sms_http")
    assert shown.get_json()["secrets_set"] == ["secret_key"]
    assert "secret_key" not in shown.get_json()["settings"]
    assert shown.get_json()["settings"]["daily_limit"] == 10  # unchanged by the refused ones
    listed = api_a.get("/plugins")
    client = app.test_client()
    web_login(client, tenant_a)
    page = client.get(f"/t/{tenant_a.slug}/admin/plugins/sms_http/settings")
    assert page.status_code == 200 and "每个手机号每日上限" in page.get_data(as_text=True)
    for text in (
        shown.get_data(as_text=True),
        listed.get_data(as_text=True),
        page.get_data(as_text=True),
    ):
        assert SECRET not in text


class OtherSms:
    """Another SMS connector installed beside this one (another firm's provider)."""

    PLUGIN = PluginInfo(name="othersms", title_zh="其他短信", title_en="Other SMS", version="1")

    @hookimpl
    def loandesk_notification_channels(self) -> list[Channel]:
        return [Channel("sms", "短信", "SMS", lambda _message: "other")]


def test_two_sms_plugins_can_be_installed_and_a_tenant_enables_one(
    app: Flask, sms: Sms, tenant_b: TenantFixture, api_b: ApiClient
) -> None:
    from loandesk_sms_http.channel import send

    from loandesk.plugins import runtime

    host = app.extensions["loandesk.plugins"]
    other = OtherSms()
    host.register(other)
    try:
        host.gather_notification_channels()
        refused = sms.api.put("/plugins/othersms", json={"enabled": True})
        assert refused.status_code == 409
        assert "SMS gateway (HTTP) (sms_http)" in refused.get_json()["message"]
        assert api_b.put("/plugins/othersms", json={"enabled": True}).status_code == 200
        with tenant_session(app, sms.tenant.slug):
            assert runtime.notification_channels()["sms"].send is send
        with tenant_session(app, tenant_b.slug):
            assert runtime.notification_channels()["sms"].send("x") == "other"  # type: ignore[arg-type]
    finally:
        host.pm.unregister(other)
        host.infos.pop("othersms", None)
        host.contributions.pop("othersms", None)


def test_the_daily_limit_tables_of_1_0_are_dropped(database_urls) -> None:  # type: ignore[no-untyped-def]
    """The core counts now (``notification_daily_counts``): the plugin's own tables are gone."""
    from sqlalchemy import inspect

    from loandesk.db import make_engine

    engine = make_engine(database_urls.owner_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert "notification_daily_counts" in tables
    assert not {"sms_http_daily_counts", "sms_http_counted_messages"} & tables
