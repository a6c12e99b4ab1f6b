"""The e-mail connector's test (Administration → Connectors): a STARTTLS login and ``NOOP`` on
the test SMTP server, no message sent; a wrong password is kept as the last error without
the password; sends through the outbox are recorded against the connector."""

from __future__ import annotations

from tests.plugins.email.conftest import Mail
from tests.plugins.email.smtp_server import PASSWORD, USERNAME, Handler


def test_the_test_logs_in_and_sends_nothing(mail: Mail, handler: Handler) -> None:
    answer = mail.api.post("/connectors/email/test")
    assert answer.status_code == 200, answer.get_json()
    found = answer.get_json()
    assert found["state"] == "ok"
    assert found["last_success_detail"].startswith("login and NOOP accepted: 250")
    assert handler.logins == [(USERNAME, PASSWORD)]
    assert handler.received == []


def test_a_refused_login_is_the_last_error_without_the_password(
    mail: Mail, handler: Handler
) -> None:
    mail.configure(password="wrong-Pa55-0000")
    found = mail.api.post("/connectors/email/test").get_json()
    assert found["state"] == "failing"
    assert found["last_error"].startswith("SMTP 535 to the login")
    assert "wrong-Pa55-0000" not in found["last_error"]


def test_sends_are_recorded_against_the_connector(mail: Mail, handler: Handler) -> None:
    mail.notify("e1", "您的借款已获批准")
    assert mail.send() == 1
    handler.rcpt_answer = "450 4.2.1 mailbox busy"
    mail.notify("e2", "您的借款已获批准")
    assert mail.send() == 0
    (item,) = mail.api.get("/connectors").get_json()["items"]
    assert item["key"] == "email" and item["channels"] == ["email"]
    assert item["state"] == "failing" and item["last_success_at"] is not None
    assert "SMTP 450 to the recipient" in item["last_error"]
