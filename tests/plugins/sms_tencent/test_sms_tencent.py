"""The Tencent Cloud SMS plugin against a Tencent Cloud API 3.0 server on 127.0.0.1 that checks
the TC3-HMAC-SHA256 signature: a borrower's message goes out through the official SDK as
``SendSms`` with the template's one parameter and its SerialNo is kept; frequency limits,
wrong credentials and a lost answer are retried, numbers refused for good fail at once; each
mobile gets at most the daily limit; the SecretKey is never logged, audited, shown or stored
in an error."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture, web_login
from tests.plugins.sms_tencent.conftest import (
    MOBILE,
    NOW,
    SECRET,
    SECRET_ID,
    Sms,
    tenant_session,
)
from tests.plugins.sms_tencent.tencent_server import FakeTencent

OTHER = "13912345678"
WRONG = "Wr0ngSecretKey-5c1d9e"


def test_a_borrower_message_goes_out_signed_with_its_serial_number_kept(
    app: Flask, sms: Sms, gateway: FakeTencent
) -> None:
    from loandesk.jobs.runtime import execute

    sms.notify("loan:1:approved", "您的借款已获批准")
    execute(app, "job-1", "core.send_messages", sms.tenant_id, (), 1, lambda _d, _t: None)
    execute(app, "job-2", "core.send_messages", sms.tenant_id, (), 1, lambda _d, _t: None)

    assert gateway.bodies == [
        {
            "PhoneNumberSet": [f"+86{MOBILE}"],
            "SmsSdkAppId": "1400006666",
            "SignName": "某某小贷",
            "TemplateId": "449739",
            "TemplateParamSet": ["您的借款已获批准"],
            "SessionContext": "loan:1:approved",
        }
    ]
    row = sms.outbox()["loan:1:approved"]
    assert (row.state, row.attempts, row.provider_id, row.last_error) == ("sent", 1, "2433:1", "")


def test_a_templated_message_goes_as_its_template_id_with_params_in_placeholder_order(
    app: Flask, sms: Sms, gateway: FakeTencent
) -> None:
    """``sdk.send_sms``: TemplateId is the tenant's template's code and TemplateParamSet its
    params in the order its placeholders first appear (Tencent's {1}, {2}, ...); the server
    refuses a set that does not match its approved template."""
    from loandesk.db import utcnow
    from tests.helpers import send_templated_sms

    gateway.templates["2233"] = 3
    template = {"key": "loan.due", "name": "到期提醒", "provider_code": "2233",
                "text": "{name}您好，您的 {amount} 元将于 {date} 到期。{name}"}  # fmt: skip
    params = {"date": "3月9日", "amount": "1,200.00", "name": "张三"}
    send_templated_sms(app, sms.api, sms.tenant.slug, template, params)
    sms.now = utcnow()  # sdk.send_sms queued it at the real time
    assert sms.send() == 1
    assert gateway.bodies == [
        {
            "PhoneNumberSet": [f"+86{MOBILE}"],
            "SmsSdkAppId": "1400006666",
            "SignName": "某某小贷",
            "TemplateId": "2233",
            "TemplateParamSet": ["张三", "1,200.00", "3月9日"],
            "SessionContext": "sms:loan.due",
        }
    ]
    gateway.templates["2233"] = 2  # the firm registered it with fewer variables
    send_templated_sms(app, sms.api, sms.tenant.slug, {**template, "key": "loan.due2"}, params)
    sms.now = utcnow()  # sdk.send_sms queued it at the real time
    assert sms.send() == 0
    assert sms.outbox()["sms:loan.due2"].last_error == (
        "TencentSmsError: FailedOperation.TemplateParamSetNotMatchApprovedTemplate: "
        "request content does not match the approved template"
    )


def test_the_server_refuses_a_request_signed_with_another_key(gateway: FakeTencent) -> None:
    """The test server really checks the signature: the SDK's request with another SecretKey
    meets the documented error (so the other tests' successes mean a correct signature)."""
    from tencentcloud.common import credential
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
        TencentCloudSDKException,
    )
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.sms.v20210111 import models, sms_client

    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=gateway.endpoint))
    request = models.SendSmsRequest()
    request.PhoneNumberSet = [f"+86{MOBILE}"]
    request.SmsSdkAppId, request.SignName, request.TemplateId = "1", "签名", "449739"
    request.TemplateParamSet = ["x"]
    answers = []
    for secret in (WRONG, SECRET):
        client = sms_client.SmsClient(
            credential.Credential(SECRET_ID, secret), "ap-guangzhou", profile
        )
        try:
            answers.append(client.SendSms(request).SendStatusSet[0].Code)
        except TencentCloudSDKException as problem:
            answers.append(problem.get_code())
    assert answers == ["AuthFailure.SignatureFailure", "Ok"]
    assert len(gateway.bodies) == 1


@pytest.mark.parametrize(
    "code",
    [
        "LimitExceeded.PhoneNumberThirtySecondLimit",  # in the number's SendStatusSet
        "LimitExceeded.PhoneNumberDailyLimit",
        "RequestLimitExceeded",  # the request's Error
    ],
)
def test_a_frequency_limit_is_retried_and_counted_once(
    sms: Sms, gateway: FakeTencent, code: str
) -> None:
    from loandesk.notifications.service import BACKOFF

    sms.configure(daily_limit=1)  # a second count would refuse the retry
    gateway.answers = [code]
    sms.notify("remind:7", "明天是还款日")
    assert sms.send() == 0
    first = sms.outbox()["remind:7"]
    assert (first.state, first.attempts) == ("pending", 1)
    assert first.last_error.startswith(f"TencentSmsError: {code}: ")
    assert MOBILE not in first.last_error

    assert sms.send(NOW + BACKOFF[0]) == 1
    assert [b["SessionContext"] for b in gateway.bodies] == ["remind:7", "remind:7"]
    row = sms.outbox()["remind:7"]
    assert (row.state, row.attempts, row.provider_id, row.last_error) == ("sent", 2, "2433:2", "")


@pytest.mark.parametrize(
    "code",
    [
        "InvalidParameterValue.IncorrectPhoneNumber",  # the request's Error
        "FailedOperation.PhoneNumberInBlacklist",  # in the number's SendStatusSet
        "InvalidParameterValue.TemplateParameterLengthLimit",
    ],
)
def test_a_number_refused_for_good_fails_at_once(sms: Sms, gateway: FakeTencent, code: str) -> None:
    gateway.answers = [code]
    sms.notify("bad-number", "您的借款已获批准")
    assert sms.send() == 0
    row = sms.outbox()["bad-number"]
    assert (row.state, row.attempts) == ("failed", 1)
    assert row.last_error.startswith(f"Undeliverable: {code}: ")
    assert "138****8000" in row.last_error and MOBILE not in row.last_error
    assert sms.send(NOW + timedelta(hours=2)) == 0  # not tried again
    assert len(gateway.bodies) == 1


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"secret_key": WRONG}, "AuthFailure.SignatureFailure"),
        ({"secret_id": "AKIDnobodyknowsthis"}, "AuthFailure.SecretIdNotFound"),
    ],
)
def test_wrong_credentials_are_refused_retried_and_never_echoed(
    sms: Sms, gateway: FakeTencent, caplog: pytest.LogCaptureFixture,
    changes: dict[str, str], code: str,
) -> None:  # fmt: skip
    sms.configure(**changes)
    sms.notify("approved", "您的借款已获批准")
    with caplog.at_level("DEBUG"):
        assert sms.send() == 0
    row = sms.outbox()["approved"]
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error == (
        f"TencentSmsError: {code}: The provided credentials could not be validated."
    )
    assert gateway.bodies == []
    for text in (row.last_error, caplog.text):
        assert SECRET not in text and WRONG not in text


def test_no_answer_within_the_timeout_is_retried(sms: Sms, gateway: FakeTencent) -> None:
    from loandesk.notifications.service import BACKOFF

    sms.configure(timeout_seconds=1)
    gateway.answers = ["silent"]
    sms.notify("remind:8", "明天是还款日")
    assert sms.send() == 0
    gateway.release.set()
    first = sms.outbox()["remind:8"]
    assert (first.state, first.attempts) == ("pending", 1)
    assert first.last_error == "TencentSmsError: ClientNetworkError: no answer within 1 s"

    assert sms.send(NOW + BACKOFF[0]) == 1
    row = sms.outbox()["remind:8"]
    assert (row.state, row.attempts, row.provider_id) == ("sent", 2, "2433:2")


def test_each_mobile_gets_at_most_the_daily_limit_per_local_day(
    sms: Sms, gateway: FakeTencent
) -> None:
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
    assert [b["PhoneNumberSet"] for b in gateway.bodies] == [
        [f"+86{MOBILE}"], [f"+86{MOBILE}"], [f"+86{OTHER}"],
    ]  # fmt: skip

    # 00:05 in Shanghai is the next day (the same day in UTC)
    sms.now = NOW.replace(hour=16, minute=5)
    sms.notify("next-day", "次日提醒", urgent=True)
    assert sms.send() == 1 and sms.outbox()["next-day"].state == "sent"


def test_the_secret_key_is_never_shown_logged_audited_or_stored_in_an_error(
    app: Flask,
    sms: Sms,
    gateway: FakeTencent,
    api_a: ApiClient,
    tenant_a: TenantFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from loandesk.audit.models import AuditEvent
    from loandesk.plugins.models import TenantPlugin

    with caplog.at_level("DEBUG"):
        sms.configure(daily_limit=5)  # the SecretKey saved again
        sms.notify("ok", "提醒")
        assert sms.send() == 1
        sms.configure(secret_key=WRONG)
        sms.notify("bad", "提醒")
        assert sms.send() == 0
        sms.configure()  # back to the right one
    shown = api_a.get("/plugins/sms_tencent")
    assert shown.get_json()["secrets_set"] == ["secret_key"]
    assert "secret_key" not in shown.get_json()["settings"]
    assert shown.get_json()["settings"]["secret_id"] == SECRET_ID
    browser = app.test_client()
    web_login(browser, tenant_a)
    page = browser.get(f"/t/{tenant_a.slug}/admin/plugins/sms_tencent/settings")
    assert page.status_code == 200 and "短信签名" in page.get_data(as_text=True)
    with tenant_session(app, tenant_a.slug) as session:
        audit = json.dumps(
            [[e.action, e.diff] for e in session.scalars(select(AuditEvent))], ensure_ascii=False
        )
        stored = session.scalars(
            select(TenantPlugin).where(TenantPlugin.name == "sms_tencent")
        ).one()
        stored_text = json.dumps([stored.settings, stored.secrets], ensure_ascii=False)
    errors = " ".join(m.last_error for m in sms.outbox().values())
    assert "plugin.settings" in audit and "AuthFailure.SignatureFailure" in errors
    assert "not sent: AuthFailure.SignatureFailure" in caplog.text  # the failure was logged
    assert MOBILE not in caplog.text  # no whole mobile number in the logs
    texts = [
        caplog.text, audit, stored_text, errors,
        shown.get_data(as_text=True), api_a.get("/plugins").get_data(as_text=True),
        page.get_data(as_text=True),
    ]  # fmt: skip
    for text in texts:
        assert SECRET not in text and WRONG not in text


def test_settings_are_checked(sms: Sms, api_a: ApiClient) -> None:
    refused = api_a.put(
        "/plugins/sms_tencent",
        json={
            "settings": sms.settings(
                region="Guangzhou", sms_sdk_app_id="app-1", template_id="x", daily_limit=0
            )
        },
    )
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {
        "region", "sms_sdk_app_id", "template_id", "daily_limit",
    }  # fmt: skip


def test_phone_numbers_take_the_mainland_prefix() -> None:
    from loandesk_sms_tencent.channel import phone_number

    assert phone_number("13800138000") == "+8613800138000"
    assert phone_number("+85261234567") == "+85261234567"


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
    assert not {"sms_tencent_daily_counts", "sms_tencent_counted_messages"} & tables


REFUSED = "callback.refused"
RECEIPT_TOKEN = "rcpt-Tc81vX3k9Lm2Np4Qr6St8Uv0"


def test_status_callbacks_set_the_messages_delivery_and_a_wrong_token_is_refused(
    app: Flask, sms: Sms, api_a: ApiClient
) -> None:
    """Tencent's status callback posted to the tenant's receipt URL: each status sets its
    message's delivery (by SerialNo); a wrong token is refused and audited."""
    from loandesk.audit.models import AuditEvent

    sms.configure(receipt_token=RECEIPT_TOKEN)
    sms.notify("ok", "提醒一")
    sms.now = NOW + timedelta(seconds=1)
    sms.notify("lost", "提醒二", OTHER)
    assert sms.send() == 2
    outbox = sms.outbox()
    statuses = [
        {"user_receive_time": "2025-03-03 10:00:04", "nationcode": "86", "mobile": MOBILE,
         "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信送达成功",
         "sid": outbox["ok"].provider_id},
        {"user_receive_time": "2025-03-03 10:02:00", "nationcode": "86", "mobile": OTHER,
         "report_status": "FAIL", "errmsg": "MN:0001", "description": "空号",
         "sid": outbox["lost"].provider_id},
    ]  # fmt: skip
    web = app.test_client()
    url = f"/t/{sms.tenant.slug}/sms-tencent/receipts/{RECEIPT_TOKEN}"
    answer = web.post(url, json=statuses)
    assert (answer.status_code, answer.get_json()) == (200, {"result": 0, "errmsg": "OK"})
    forged = web.post(f"/t/{sms.tenant.slug}/sms-tencent/receipts/guess", json=statuses[:1])
    garbled = web.post(url, json=[{"sid": "x", "report_status": "MAYBE"}])
    assert (forged.status_code, garbled.status_code) == (403, 400)

    outbox = sms.outbox()
    ok, failed = outbox["ok"], outbox["lost"]
    assert (ok.delivery, ok.delivered_at, ok.delivery_detail) == (
        "delivered", NOW + timedelta(seconds=4), "DELIVRD: 用户短信送达成功",
    )  # fmt: skip
    assert (failed.delivery, failed.delivery_detail) == ("undelivered", "MN:0001: 空号")
    page = api_a.get("/notifications/messages?state=sent").get_json()["items"]
    assert sorted(m["delivery"] for m in page) == ["delivered", "undelivered"]
    with tenant_session(app, sms.tenant.slug) as session:
        refused = [
            e.diff["reason"]
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action == "callback.refused")
            )
        ]
    assert refused == ["wrong receipt token", "a status without report_status or sid"]
