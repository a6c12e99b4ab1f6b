"""The Alibaba Cloud SMS plugin against a Dysmsapi on 127.0.0.1 that checks the V3 signature:
a borrower's message goes out through the tenant's template with its BizId kept; a rate limit,
a wrong secret and a lost answer are tried again, an illegal mobile fails at once; each mobile
gets at most the daily limit; the AccessKey Secret is never shown, logged or stored in an error;
a tenant enables one ``sms`` plugin only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture, web_login
from tests.plugins.sms_aliyun.conftest import MOBILE, NOW, SECRET, Sms, tenant_session
from tests.plugins.sms_aliyun.dysms_server import FakeDysms

OTHER = "13912345678"
TEXT = "您的借款已获批准，金额 ¥5,000.00 & 期限 12 期"


def _noop(_d: object, _t: object) -> None:
    return None


def test_a_message_goes_out_signed_through_the_template_and_its_bizid_is_kept(
    app: Flask, sms: Sms, dysms: FakeDysms
) -> None:
    from loandesk.jobs.runtime import execute

    sms.notify("loan:1:approved", TEXT)
    execute(app, "job-1", "core.send_messages", sms.tenant_id, (), 1, _noop)
    execute(app, "job-2", "core.send_messages", sms.tenant_id, (), 1, _noop)

    assert len(dysms.accepted) == 1 and dysms.refused == []
    sent = dysms.accepted[0]
    assert {k: sent[k] for k in ("PhoneNumbers", "SignName", "TemplateCode", "OutId")} == {
        "PhoneNumbers": MOBILE,
        "SignName": "某某小贷",
        "TemplateCode": "SMS_465012345",
        "OutId": "loan:1:approved",
    }
    assert json.loads(sent["TemplateParam"]) == {"content": TEXT}
    row = sms.outbox()["loan:1:approved"]
    assert (row.state, row.attempts, row.provider_id, row.last_error) == (
        "sent", 1, "900619746936499^0", "",
    )  # fmt: skip


def test_a_templated_message_goes_as_its_template_code_with_its_params(
    app: Flask, sms: Sms, dysms: FakeDysms
) -> None:
    """``sdk.send_sms``: the tenant's template code as TemplateCode and exactly its params as
    TemplateParam (the server checks them against its approved template); a code Alibaba
    does not know is refused and tried again."""
    from loandesk.db import utcnow
    from tests.helpers import send_templated_sms

    dysms.templates["SMS_465099999"] = {"name", "amount"}
    template = {"key": "loan.paid", "name": "放款通知", "provider_code": "SMS_465099999",
                "text": "${name}您好，{name}您的借款 {amount} 元已放款"}  # fmt: skip
    params = {"amount": "5,000.00", "name": "张三"}
    send_templated_sms(app, sms.api, sms.tenant.slug, template, params)
    sms.now = utcnow()  # sdk.send_sms queued it at the real time
    assert sms.send() == 1
    sent = dysms.accepted[0]
    assert {k: sent[k] for k in ("PhoneNumbers", "SignName", "TemplateCode", "OutId")} == {
        "PhoneNumbers": MOBILE, "SignName": "某某小贷", "TemplateCode": "SMS_465099999",
        "OutId": "sms:loan.paid",
    }  # fmt: skip
    assert sent["TemplateParam"] == '{"name": "张三", "amount": "5,000.00"}'
    assert sms.outbox()["sms:loan.paid"].body == "$张三您好，张三您的借款 5,000.00 元已放款"

    unknown = {**template, "key": "loan.late", "provider_code": "SMS_1"}
    send_templated_sms(app, sms.api, sms.tenant.slug, unknown, params)
    sms.now = utcnow()  # sdk.send_sms queued it at the real time
    assert sms.send() == 0
    row = sms.outbox()["sms:loan.late"]
    assert (row.state, row.last_error) == (
        "pending", "AliyunSmsError: isv.SMS_TEMPLATE_ILLEGAL: 该账号下找不到对应模板",
    )  # fmt: skip


def test_the_server_refuses_a_tampered_request(sms: Sms, dysms: FakeDysms) -> None:
    """The test server really checks the signature: a request signed with one OutId and sent
    with another is refused (so the success above shows the SDK's signature verified)."""
    import requests
    from loandesk_sms_aliyun import client

    captured: dict[str, object] = {}
    original = requests.Session.send

    def tamper(self: requests.Session, prepared: requests.PreparedRequest, **kw: object):  # type: ignore[no-untyped-def]
        prepared.url = str(prepared.url).replace("OutId=k1", "OutId=k2")
        captured["url"] = prepared.url
        return original(self, prepared, **kw)

    account = client.Account("LTAI5tTestKeyId0001", SECRET, dysms.host, 5, "HTTP")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests.Session, "send", tamper)
        with pytest.raises(client.AliyunSmsError, match=r"^SignatureDoesNotMatch: "):
            client.send_sms(
                account, mobile=MOBILE, sign_name="某某小贷", template_code="SMS_1",
                template_param={"content": "x"}, out_id="k1",
            )  # fmt: skip
    assert "OutId=k2" in str(captured["url"])
    assert dysms.refused == ["SignatureDoesNotMatch"] and dysms.accepted == []


def test_a_rate_limit_is_tried_again_and_an_illegal_mobile_fails_at_once(
    sms: Sms, dysms: FakeDysms
) -> None:
    from loandesk.notifications.service import BACKOFF

    dysms.answers = ["limit", "illegal"]
    sms.notify("a-limit", "提醒一")
    sms.now = NOW + timedelta(seconds=1)
    sms.notify("b-illegal", "提醒二", OTHER)
    assert sms.send() == 0
    outbox = sms.outbox()
    limited, illegal = outbox["a-limit"], outbox["b-illegal"]
    assert (limited.state, limited.attempts) == ("pending", 1)
    assert (
        limited.last_error
        == "AliyunSmsError: isv.BUSINESS_LIMIT_CONTROL: 触发号码天级流控Permits:10"
    )
    assert (illegal.state, illegal.attempts) == ("failed", 1)
    assert illegal.last_error == "Undeliverable: isv.MOBILE_NUMBER_ILLEGAL: 非法手机号"

    assert sms.send(NOW + BACKOFF[0] + timedelta(seconds=1)) == 1
    row = sms.outbox()["a-limit"]
    assert (row.state, row.attempts, row.provider_id) == ("sent", 2, "900619746936499^0")
    assert dysms.requests == ["a-limit", "b-illegal", "a-limit"]


def test_a_lost_answer_is_tried_again_and_counted_once(sms: Sms, dysms: FakeDysms) -> None:
    from loandesk.notifications.service import BACKOFF

    sms.configure(timeout_seconds=1, daily_limit=1)  # a second count would refuse the retry
    dysms.answers = ["slow"]
    sms.notify("remind:7", "明天是还款日")
    assert sms.send() == 0
    dysms.release.set()
    first = sms.outbox()["remind:7"]
    assert (first.state, first.attempts) == ("pending", 1)
    assert first.last_error == ("AliyunSmsError: no answer from Alibaba Cloud SMS within 1 s")
    assert sms.send(NOW + BACKOFF[0]) == 1
    row = sms.outbox()["remind:7"]
    assert (row.state, row.attempts) == ("sent", 2)
    assert dysms.requests == ["remind:7", "remind:7"]


def test_a_wrong_secret_is_refused_and_never_stored_or_logged(
    sms: Sms, dysms: FakeDysms, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-secret-Qp2m7T"
    sms.configure(access_key_secret=wrong)
    sms.notify("approved", "您的借款已获批准")
    with caplog.at_level("DEBUG"):
        assert sms.send() == 0
    row = sms.outbox()["approved"]
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error == (
        "AliyunSmsError: SignatureDoesNotMatch: Specified signature does not match our calculation."
    )
    assert dysms.refused == ["SignatureDoesNotMatch"] and dysms.accepted == []
    for text in (row.last_error, caplog.text):
        assert SECRET not in text and wrong not in text and MOBILE not in text


def test_each_mobile_gets_at_most_the_daily_limit(sms: Sms, dysms: FakeDysms) -> None:
    sms.configure(daily_limit=2)
    for seconds, key in enumerate(("d1", "d2", "other", "d3")):
        sms.now = NOW + timedelta(seconds=seconds)
        sms.notify(key, f"提醒 {key}", OTHER if key == "other" else MOBILE)
    assert sms.send(NOW + timedelta(minutes=1)) == 3
    outbox = sms.outbox()
    assert {k: (m.state, m.attempts) for k, m in outbox.items()} == {
        "d1": ("sent", 1), "d2": ("sent", 1), "other": ("sent", 1), "d3": ("failed", 1),
    }  # fmt: skip
    assert outbox["d3"].last_error == (
        "Undeliverable: daily limit of 2 messages to 138****8000 reached on 2025-03-03"
    )
    assert [m["PhoneNumbers"] for m in dysms.accepted] == [MOBILE, MOBILE, OTHER]
    sms.now = NOW.replace(hour=16, minute=5)  # 00:05 the next day in Shanghai
    sms.notify("next-day", "次日提醒", urgent=True)
    assert sms.send() == 1 and sms.outbox()["next-day"].state == "sent"


def test_the_secret_is_never_shown_logged_or_audited(
    app: Flask, sms: Sms, api_a: ApiClient, tenant_a: TenantFixture, dysms: FakeDysms,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    from loandesk.audit.models import AuditEvent

    with caplog.at_level("DEBUG"):
        sms.configure(daily_limit=5)
        sms.notify("s1", "您好")
        dysms.answers = ["balance"]
        assert sms.send() == 0
        refused = api_a.put(
            "/plugins/sms_aliyun",
            json={"settings": sms.settings(template_code="123", endpoint="http://x/")},
        )
        assert refused.status_code == 422
        assert set(refused.get_json()["errors"]) == {"template_code", "endpoint"}
        shown = api_a.get("/plugins/sms_aliyun")
        listed = api_a.get("/plugins")
        client = app.test_client()
        web_login(client, tenant_a)
        page = client.get(f"/t/{tenant_a.slug}/admin/plugins/sms_aliyun/settings")
    assert shown.get_json()["secrets_set"] == ["access_key_secret"]
    assert "access_key_secret" not in shown.get_json()["settings"]
    assert shown.get_json()["settings"]["daily_limit"] == 5
    assert page.status_code == 200 and "模板 CODE" in page.get_data(as_text=True)
    assert sms.outbox()["s1"].last_error == ("AliyunSmsError: isv.AMOUNT_NOT_ENOUGH: 账户余额不足")
    with tenant_session(app, tenant_a.slug) as session:
        audit = [
            json.dumps([a.__dict__.get(c.name) for c in AuditEvent.__table__.columns], default=str)
            for a in session.scalars(select(AuditEvent))
        ]
    assert any("sms_aliyun" in row for row in audit)
    texts = [
        shown.get_data(as_text=True), listed.get_data(as_text=True),
        page.get_data(as_text=True), refused.get_data(as_text=True), caplog.text,
        sms.outbox()["s1"].last_error, *audit,
    ]  # fmt: skip
    for text in texts:
        assert SECRET not in text


def test_a_second_sms_plugin_cannot_be_enabled_beside_the_first(sms: Sms, api_a: ApiClient) -> None:
    refused = api_a.put(
        "/plugins/sms_http",
        json={"enabled": True},
    )
    assert refused.status_code == 409
    assert "Alibaba Cloud SMS (sms_aliyun)" in refused.get_json()["message"]


def test_enabling_aliyun_while_sms_http_is_enabled_is_refused(
    tenant_b: TenantFixture, api_b: ApiClient
) -> None:
    from tests.plugins.sms_http.conftest import SECRET as HTTP_SECRET

    enabled = api_b.put(
        "/plugins/sms_http",
        json={"enabled": True, "settings": {
            "gateway_url": "http://127.0.0.1:9/send", "account_id": "a", "secret_key": HTTP_SECRET,
        }},
    )  # fmt: skip
    assert enabled.status_code == 200, enabled.get_json()
    refused = api_b.put("/plugins/sms_aliyun", json={"enabled": True})
    assert refused.status_code == 409
    assert "SMS gateway (HTTP) (sms_http)" in refused.get_json()["message"]
    assert api_b.get("/plugins/sms_aliyun").get_json()["enabled"] is False


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
    assert not {"sms_aliyun_daily_counts", "sms_aliyun_counted_messages"} & tables


REFUSED = "callback.refused"
RECEIPT_TOKEN = "rcpt-Zq81vX3k9Lm2Np4Qr6St8Uv0"


def test_delivery_receipts_set_the_messages_delivery_and_a_wrong_token_is_refused(
    app: Flask,
    sms: Sms,
    api_a: ApiClient,
    tenant_b: TenantFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Alibaba's HTTP batch push of SmsReport, posted to the tenant's receipt URL: each report
    sets its message's delivery (by BizId); a wrong token is refused and audited, and the token
    is never shown."""
    from loandesk.audit.models import AuditEvent

    sms.configure(receipt_token=RECEIPT_TOKEN)
    sms.notify("ok", "提醒一")
    sms.now = NOW + timedelta(seconds=1)
    sms.notify("lost", "提醒二", OTHER)
    assert sms.send() == 2
    outbox = sms.outbox()
    delivered, lost = outbox["ok"].provider_id, outbox["lost"].provider_id
    reports = [
        {"phone_number": MOBILE, "send_time": "2025-03-03 10:00:00",
         "report_time": "2025-03-03 10:00:05", "success": True, "err_code": "DELIVERED",
         "err_msg": "用户接收成功", "sms_size": "1", "biz_id": delivered, "out_id": "ok"},
        {"phone_number": OTHER, "send_time": "2025-03-03 10:00:01",
         "report_time": "2025-03-03 10:01:00", "success": False, "err_code": "MK:0001",
         "err_msg": f"{OTHER} 停机", "sms_size": "1", "biz_id": lost, "out_id": "lost"},
        {"phone_number": OTHER, "send_time": "2025-03-03 10:00:01",
         "report_time": "2025-03-03 10:01:00", "success": True, "err_code": "DELIVERED",
         "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "another^0", "out_id": "x"},
    ]  # fmt: skip
    web = app.test_client()
    url = f"/t/{sms.tenant.slug}/sms-aliyun/receipts/{RECEIPT_TOKEN}"
    with caplog.at_level("DEBUG"):
        answer = web.post(url, json=reports)
        assert (answer.status_code, answer.get_json()) == (200, {"code": 0, "msg": "成功"})
        forged = web.post(url[:-1] + "X", json=[{**reports[1], "biz_id": delivered}])
        garbled = web.post(url, data=b"<xml/>", content_type="application/json")
        elsewhere = web.post(f"/t/{tenant_b.slug}/sms-aliyun/receipts/{RECEIPT_TOKEN}", json=[])
    assert (forged.status_code, garbled.status_code, elsewhere.status_code) == (403, 400, 404)

    outbox = sms.outbox()
    ok, failed = outbox["ok"], outbox["lost"]
    assert (ok.delivery, ok.delivered_at, ok.delivery_detail) == (
        "delivered", NOW + timedelta(seconds=5), "DELIVERED: 用户接收成功",
    )  # fmt: skip
    assert (failed.delivery, failed.delivery_detail) == ("undelivered", "MK:0001: 139****5678 停机")
    logged = api_a.get(f"/notifications/messages/{ok.id}").get_json()
    assert (logged["delivery"], logged["delivered_at"]) == (
        "delivered",
        "2025-03-03T02:00:05+00:00",
    )
    with tenant_session(app, sms.tenant.slug) as session:
        refused = [
            (e.record_type, e.record_id, e.diff["reason"])
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action == "callback.refused")
            )
        ]
        audit = [json.dumps(e.diff, default=str) for e in session.scalars(select(AuditEvent))]
    assert refused == [
        ("delivery_receipt", "sms_aliyun", "wrong receipt token"),
        ("delivery_receipt", "sms_aliyun", "not a JSON array of reports"),
    ]
    shown = api_a.get("/plugins/sms_aliyun").get_json()
    assert "receipt_token" in shown["secrets_set"] and "receipt_token" not in shown["settings"]
    admin = app.test_client()
    web_login(admin, sms.tenant)
    page = admin.get(f"/t/{sms.tenant.slug}/admin/plugins/sms_aliyun/settings")
    assert page.status_code == 200 and "回执令牌" in page.get_data(as_text=True)
    for text in (caplog.text, json.dumps(shown), page.get_data(as_text=True), *audit):
        assert RECEIPT_TOKEN not in text and MOBILE not in text
