"""The e-mail plugin against a real SMTP server on 127.0.0.1 (aiosmtpd) with a certificate the
client verifies: a message goes over STARTTLS or implicit TLS, logged in, from the tenant's
sender with its Chinese name, prefix and signature, under a Message-ID its retries share; a
permanent refusal fails the message at once, a temporary one, a silent server and a wrong
password are retried; an untrusted certificate or a server without STARTTLS sends nothing;
the settings are checked; the test e-mail is for admins; the password is never shown, logged,
audited or kept in an error."""

from __future__ import annotations

import json
import uuid
from email.utils import format_datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture, fetch_token, web_login
from tests.plugins.email.conftest import BORROWER, NOW, SENDER, Mail, tenant_session
from tests.plugins.email.smtp_server import (
    PASSWORD,
    USERNAME,
    Certificates,
    Handler,
    running,
    silent,
)

FOOTER = "某某小贷有限公司\n客服电话 400-000-0000"


def test_a_message_goes_over_starttls_logged_in_from_the_tenants_sender(
    app: Flask, mail: Mail, handler: Handler
) -> None:
    from loandesk_email.smtp import message_id

    from loandesk.jobs.runtime import execute

    mail.notify("loan:1:due", "您的借款将于 3 月 5 日到期，请按时还款。", subject="还款提醒")
    execute(app, "job-1", "core.send_messages", mail.tenant_id, (), 1, lambda _d, _t: None)
    execute(app, "job-2", "core.send_messages", mail.tenant_id, (), 1, lambda _d, _t: None)

    assert len(handler.received) == 1
    got = handler.received[0]
    assert (got.mail_from, got.rcpt_tos) == (SENDER, [BORROWER])
    assert got.tls is not None and got.tls.startswith("TLS")  # STARTTLS, before MAIL
    assert got.login == USERNAME and handler.logins == [(USERNAME, PASSWORD)]
    assert got.data.isascii()  # 7-bit: the name and subject as RFC 2047 words, the text base64
    assert "=?utf-8?b?" in got.data.decode() and f"<{SENDER}>" in got.data.decode()
    message = got.message
    sender = message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("某某小贷 客服中心", SENDER)
    assert message["To"] == BORROWER
    assert message["Reply-To"] == "service@xiaodai.example.cn"
    assert message["Subject"] == "【某某小贷】还款提醒"
    assert message["Date"] == format_datetime(NOW)
    assert message["Message-ID"] == message_id("loan:1:due", str(mail.tenant_id), SENDER)
    assert message["Message-ID"].endswith("@xiaodai.example.cn>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    text = message.get_content().replace("\r\n", "\n")
    assert text == f"您的借款将于 3 月 5 日到期，请按时还款。\n\n-- \n{FOOTER}\n"
    row = mail.outbox()["loan:1:due"]
    assert (row.state, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.provider_id == "2.0.0 Ok: queued as Q1"


def test_implicit_tls_on_port_465_style_servers(
    mail: Mail, handler: Handler, certificates: Certificates
) -> None:
    with running(handler, certificates, "ssl") as port:
        mail.configure(security="ssl", port=port)
        mail.notify("tls", "审批已通过")  # no subject: the first line is used
        assert mail.send() == 1
    got = handler.received[0]
    assert got.tls is not None and got.login == USERNAME
    assert got.message["Subject"] == "【某某小贷】审批已通过"


def test_plain_smtp_only_to_a_relay_on_this_machine(
    mail: Mail, handler: Handler, certificates: Certificates, api_a: ApiClient
) -> None:
    refused = api_a.put(
        "/plugins/email", json={"settings": {"host": "smtp.example.cn", "security": "none"}}
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {
        "security": ["Without encryption, only a relay on this machine (localhost) is allowed."]
    }
    with running(handler, certificates, "none", login=False) as port:
        mail.configure(security="none", port=port, username=None)
        mail.notify("relay", "正文", subject="本机中继")
        assert mail.send() == 1
    assert handler.received[0].tls is None and handler.logins == []


def test_a_permanent_refusal_fails_the_message_at_once(mail: Mail, handler: Handler) -> None:
    from loandesk.notifications.service import BACKOFF

    handler.rcpt_answer = f"550 5.1.1 <{BORROWER}>: Recipient address rejected: User unknown"
    mail.notify("gone", "提醒")
    assert mail.send() == 0
    row = mail.outbox()["gone"]
    assert (row.state, row.attempts) == ("failed", 1)
    assert row.last_error == (
        "Undeliverable: SMTP 550 to the recipient: 5.1.1 <z***@mail.example.cn>: "
        "Recipient address rejected: User unknown"
    )
    handler.rcpt_answer = ""
    assert mail.send(NOW + BACKOFF[-1]) == 0 and handler.received == []


def test_a_refused_message_content_fails_at_once(mail: Mail, handler: Handler) -> None:
    handler.data_answer = "554 5.7.1 Message rejected as spam"
    mail.notify("spam", "提醒")
    assert mail.send() == 0
    row = mail.outbox()["spam"]
    assert (row.state, row.last_error) == (
        "failed",
        "Undeliverable: SMTP 554 to the message: 5.7.1 Message rejected as spam",
    )


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ("zhang san@mail.example.cn", "the recipient's address is not a valid e-mail address"),
        ("zhangsan@例子.中国", "the recipient's address is not plain ASCII (SMTPUTF8 is not used)"),
    ],
)
def test_an_address_that_cannot_be_sent_to_fails_without_a_connection(
    mail: Mail, handler: Handler, address: str, error: str
) -> None:
    mail.notify("bad-address", "提醒", address=address)
    assert mail.send() == 0
    row = mail.outbox()["bad-address"]
    assert (row.state, row.last_error) == ("failed", f"Undeliverable: {error}")
    assert handler.logins == []


def test_a_temporary_refusal_is_retried_with_the_same_message_id(
    mail: Mail, handler: Handler
) -> None:
    from loandesk_email.smtp import message_id

    from loandesk.notifications.service import BACKOFF

    handler.rcpt_answer = "451 4.3.0 Mailbox temporarily unavailable"
    mail.notify("later", "提醒", subject="还款提醒")
    assert mail.send() == 0
    first = mail.outbox()["later"]
    assert (first.state, first.attempts) == ("pending", 1)
    assert first.last_error == (
        "SmtpError: SMTP 451 to the recipient: 4.3.0 Mailbox temporarily unavailable"
    )
    handler.rcpt_answer = ""
    assert mail.send(NOW + BACKOFF[0]) == 1
    row = mail.outbox()["later"]
    assert (row.state, row.attempts, row.last_error) == ("sent", 2, "")
    assert handler.received[0].message["Message-ID"] == message_id(
        "later", str(mail.tenant_id), SENDER
    )


def test_a_server_that_never_answers_times_out_and_is_retried(mail: Mail) -> None:
    with silent() as port:
        mail.configure(port=port, timeout_seconds=1)
        mail.notify("silent", "提醒")
        assert mail.send() == 0
    row = mail.outbox()["silent"]
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error == "SmtpError: no answer within 1 s"


def test_an_unreachable_server_is_retried(mail: Mail) -> None:
    with silent() as port:
        pass  # closed again: nothing listens there now
    mail.configure(port=port)
    mail.notify("down", "提醒")
    assert mail.send() == 0
    row = mail.outbox()["down"]
    assert (row.state, row.last_error) == (
        "pending",
        "SmtpError: the SMTP server cannot be reached (ConnectionRefusedError)",
    )


def test_an_untrusted_certificate_sends_nothing(
    mail: Mail, handler: Handler, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "no-authorities.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    mail.notify("untrusted", "提醒")
    assert mail.send() == 0
    row = mail.outbox()["untrusted"]
    assert row.state == "pending"
    assert row.last_error.startswith("SmtpError: TLS: the server's certificate is not accepted")
    assert handler.logins == [] and handler.received == []


def test_a_server_without_starttls_sends_nothing_in_the_clear(
    mail: Mail, handler: Handler, certificates: Certificates
) -> None:
    with running(handler, certificates, "none") as port:
        mail.configure(port=port)  # starttls asked for, not offered
        mail.notify("clear", "提醒")
        assert mail.send() == 0
    row = mail.outbox()["clear"]
    assert (row.state, row.last_error) == (
        "pending",
        "SmtpError: the server does not offer STARTTLS; nothing was sent",
    )
    assert handler.logins == [] and handler.received == []


def test_a_wrong_password_is_retried_and_never_shown(
    mail: Mail, handler: Handler, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-Pa55-4d2f"
    mail.configure(password=wrong)
    mail.notify("login", "提醒")
    with caplog.at_level("DEBUG"):
        assert mail.send() == 0
    row = mail.outbox()["login"]
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error == (
        "SmtpError: SMTP 535 to the login: 5.7.8 Authentication credentials invalid"
    )
    assert handler.logins == [(USERNAME, wrong)]  # the server did get the one configured
    for text in (row.last_error, caplog.text):
        assert wrong not in text and PASSWORD not in text


def test_settings_are_checked(
    mail: Mail, api_a: ApiClient, api_b: ApiClient, tenant_b: TenantFixture
) -> None:
    refused = api_a.put(
        "/plugins/email",
        json={
            "settings": mail.settings(
                host="smtp example.cn",
                port=70000,
                security="tls",
                sender_address="not-an-address",
                reply_to="也不是",
                subject_prefix="【某某】\r\nBcc: x@example.cn",
                timeout_seconds=0,
            )
        },
    )
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]
    assert set(errors) == {
        "host", "port", "security", "sender_address", "reply_to", "subject_prefix",
        "timeout_seconds",
    }  # fmt: skip
    assert errors["port"] == ["Enter a port from 1 to 65535."]
    assert errors["subject_prefix"] == ["Enter a single line."]
    assert api_a.get("/plugins/email").get_json()["settings"]["port"] == mail.port  # unchanged

    # a username needs a password, unless one is stored already
    fresh = api_b.put(
        "/plugins/email",
        json={"settings": {**mail.settings(), "password": ""}},
    )
    assert fresh.get_json()["errors"] == {"password": ["Enter the password for this username."]}
    kept = api_a.put("/plugins/email", json={"settings": {**mail.settings(), "password": ""}})
    assert kept.status_code == 200


def test_a_tenant_without_the_plugin_has_no_email_channel(
    app: Flask, mail: Mail, api_b: ApiClient, tenant_b: TenantFixture
) -> None:
    from loandesk.plugins import runtime

    assert api_b.post("/email/test", json={}).status_code == 404
    with tenant_session(app, tenant_b.slug):
        assert "email" not in runtime.notification_channels()
    with tenant_session(app, mail.tenant.slug):
        channel = runtime.notification_channels()["email"]
        assert channel.address_kind == "email" and channel.audiences == {"staff", "borrower"}


def test_staff_who_chose_email_get_it(app: Flask, mail: Mail, handler: Handler) -> None:
    from loandesk import pii
    from loandesk.auth.models import User
    from loandesk.notifications import service
    from loandesk.plugins import runtime

    with tenant_session(app, mail.tenant.slug) as session:
        admin = session.scalars(select(User)).first()
        assert admin is not None
        service.set_email(session, admin.id, True)
        service.notify_staff(
            session, [admin.id], "待审批：借款申请 A-001", "请处理借款申请 A-001。", key="task:1",
            channels=runtime.notification_channels(), keys=pii.for_current_tenant(), now=NOW,
        )  # fmt: skip
        address = admin.email
    assert mail.send() == 1
    message = handler.received[0].message
    assert (message["To"], message["Subject"]) == (address, "【某某小贷】待审批：借款申请 A-001")


def _client_of(
    app: Flask, client: FlaskClient, tenant: TenantFixture, roles: list[str]
) -> tuple[ApiClient, str]:
    """An API client (plugins scopes) acting for a new staff member with ``roles``."""
    from loandesk.auth import clients, users
    from loandesk.tenancy import service, use

    ext = app.extensions["loandesk"]
    with app.app_context(), ext.db.transaction() as session:
        with use(service.get_by_slug(session, tenant.slug).ref()):
            email = f"staff-{uuid.uuid4().hex[:6]}@{tenant.slug}.example.cn"
            user = users.create_user(
                session, email=email,
                display_name="员工", password="Correct-horse-42", roles=roles,
            ).user  # fmt: skip
            new = clients.create_client(
                session, tenant_id=uuid.UUID(tenant.id), name="staff client",
                scopes=["plugins:read", "plugins:write"], created_by_id=None, acts_as_id=user.id,
            )  # fmt: skip
            client_id, secret = new.client.client_id, new.client_secret
    token = fetch_token(client, client_id, secret).get_json()["access_token"]
    return ApiClient(client, token), email


def test_an_admin_sends_a_test_email(
    app: Flask, client: FlaskClient, mail: Mail, handler: Handler, tenant_a: TenantFixture
) -> None:
    from loandesk.audit.models import AuditEvent

    sent = mail.api.post("/email/test", json={"to": "ops@xiaodai.example.cn"})
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["to"] == "o***@xiaodai.example.cn"
    message = handler.received[0].message
    assert message["To"] == "ops@xiaodai.example.cn"
    assert message["Subject"].startswith("【某某小贷】")
    assert message["Message-ID"] == sent.get_json()["message_id"]
    assert message.get_content().replace("\r\n", "\n").endswith(f"\n-- \n{FOOTER}\n")

    nobody = mail.api.post("/email/test", json={})  # an admin client acting for nobody
    assert nobody.get_json()["errors"] == {"to": ["Enter the address to send the test e-mail to."]}
    admin, address = _client_of(app, client, tenant_a, ["tenant_admin"])
    assert admin.post("/email/test", json={}).status_code == 200
    assert handler.received[1].rcpt_tos == [address]

    handler.rcpt_answer = "550 5.1.1 <ops@xiaodai.example.cn>: User unknown"
    failed = mail.api.post("/email/test", json={"to": "ops@xiaodai.example.cn"})
    assert failed.status_code == 502
    assert failed.get_json()["code"] == "email_test_failed"
    assert (
        "SMTP 550 to the recipient: 5.1.1 <o***@xiaodai.example.cn>"
        in (failed.get_json()["message"])
    )
    with tenant_session(app, tenant_a.slug) as session:
        results = [
            e.diff["result"][1]
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action == "email.test").order_by(AuditEvent.seq)
            )
        ]
    assert results[:2] == ["sent", "sent"] and results[2].startswith("SMTP 550")

    officer, _address = _client_of(app, client, tenant_a, ["credit_officer"])
    for body in ({}, {"to": "ops@xiaodai.example.cn"}):
        assert officer.post("/email/test", json=body).status_code == 403
    assert len(handler.received) == 2
    assert mail.api.post("/email/test", json={"to": "x"}).status_code == 422
    spec = client.get("/api/openapi.json").get_json()
    described = spec["paths"]["/api/v1/email/test"]["post"]
    assert {"200", "403", "502"} <= set(described["responses"])


def test_the_password_is_never_shown_logged_or_audited(
    app: Flask,
    mail: Mail,
    handler: Handler,
    api_a: ApiClient,
    tenant_a: TenantFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from loandesk.audit.models import AuditEvent
    from loandesk.plugins.models import TenantPlugin

    with caplog.at_level("DEBUG"):
        mail.configure(subject_prefix="【新】")  # the password saved again
        mail.notify("ok", "提醒")
        assert mail.send() == 1
        answers = [mail.api.post("/email/test", json={"to": "ops@xiaodai.example.cn"})]
        mail.configure(password="wrong-Pa55-9e1a")
        mail.notify("bad", "提醒")
        assert mail.send() == 0
        answers.append(mail.api.post("/email/test", json={"to": "ops@xiaodai.example.cn"}))
        mail.configure()  # back to the right one
    assert [a.status_code for a in answers] == [200, 502]
    shown = api_a.get("/plugins/email")
    assert shown.get_json()["secrets_set"] == ["password"]
    assert "password" not in shown.get_json()["settings"]
    browser = app.test_client()
    web_login(browser, tenant_a)
    page = browser.get(f"/t/{tenant_a.slug}/admin/plugins/email/settings")
    assert page.status_code == 200 and "发件人地址" in page.get_data(as_text=True)
    with tenant_session(app, tenant_a.slug) as session:
        audit = json.dumps(
            [[e.action, e.diff] for e in session.scalars(select(AuditEvent))], ensure_ascii=False
        )
        stored = session.scalars(select(TenantPlugin).where(TenantPlugin.name == "email")).one()
        stored_text = json.dumps([stored.settings, stored.secrets], ensure_ascii=False)
    errors = " ".join(m.last_error for m in mail.outbox().values())
    assert "plugin.settings" in audit and "email.test" in audit and "SMTP 535" in errors
    texts = [
        caplog.text, audit, stored_text, errors,
        shown.get_data(as_text=True), api_a.get("/plugins").get_data(as_text=True),
        page.get_data(as_text=True), *[a.get_data(as_text=True) for a in answers],
    ]  # fmt: skip
    for text in texts:
        assert PASSWORD not in text and "wrong-Pa55-9e1a" not in text
