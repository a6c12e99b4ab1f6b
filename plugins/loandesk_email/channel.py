"""The ``email`` channel: one message to one staff member or borrower through the tenant's
SMTP server, and the test e-mail an admin sends to check the settings."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from loandesk import sdk
from loandesk_email import smtp
from loandesk_email.settings import DEFAULT_PORTS, SmtpSettings

NAME = "email"


def send(message: sdk.OutgoingMessage) -> str:
    """Send the message; the server's answer to it. ``Undeliverable`` when the server refuses
    the recipient or the e-mail for good, ``SmtpError`` (tried again) otherwise. Error texts
    (the outbox stores them) never hold a whole address or the password."""
    settings = loaded_settings()
    identity = smtp.message_id(message.key, str(message.tenant_id), settings["sender_address"])
    email = letter(settings, message.address, message.subject, message.body, message_id=identity)
    return deliver(settings, email)


def test(session: object) -> str:
    """The connector's test: log in to the server and say ``NOOP`` (nothing is sent)."""
    settings = loaded_settings()
    try:
        return smtp.check(server(settings))
    except smtp.SmtpError as problem:
        raise smtp.SmtpError(_clean(str(problem), settings)) from None


def deliver(settings: dict[str, Any], letter: smtp.Letter) -> str:
    """Send ``letter`` with the tenant's ``settings`` (loaded); errors cleaned for storing."""
    try:
        return smtp.send(server(settings), letter)
    except smtp.Refused as problem:
        raise sdk.Undeliverable(_clean(str(problem), settings)) from None
    except smtp.SmtpError as problem:
        raise smtp.SmtpError(_clean(str(problem), settings)) from None


def server(settings: dict[str, Any]) -> smtp.Server:
    return smtp.Server(
        host=settings["host"],
        port=settings["port"] or DEFAULT_PORTS[settings["security"]],
        security=settings["security"],
        username=settings["username"] or "",
        password=settings["password"] or "",
        timeout=settings["timeout_seconds"],
    )


def subject(settings: dict[str, Any], text: str, body_text: str) -> str:
    """The prefix and the message's subject, or its first line when it has none (an SMS-like
    message to a borrower), on one line."""
    text = " ".join((text or body_text.strip().split("\n", 1)[0][:60]).split())
    return f"{settings['subject_prefix'] or ''}{text}"


def body(settings: dict[str, Any], text: str) -> str:
    """The text, then the tenant's signature after the usual "-- " separator line."""
    footer = (settings["footer"] or "").strip("\n")
    return f"{text.rstrip()}\n\n-- \n{footer}\n" if footer else f"{text.rstrip()}\n"


def letter(
    settings: dict[str, Any], to: str, title: str, text: str, *, message_id: str = ""
) -> smtp.Letter:
    """An e-mail from the tenant's sender with its prefix and signature; without a
    ``message_id`` (the admin's test e-mail) a fresh one."""
    sender = settings["sender_address"]
    return smtp.Letter(
        sender_address=sender,
        sender_name=settings["sender_name"] or "",
        to=to,
        subject=subject(settings, title, text),
        body=body(settings, text),
        message_id=message_id or smtp.message_id(str(sdk.uuid7()), "test", sender),
        date=sdk.utcnow(),
        reply_to=settings["reply_to"] or "",
    )


def loaded_settings() -> dict[str, Any]:
    """The tenant's settings, password decrypted; ``SmtpError`` when they are incomplete."""
    raw = sdk.plugin_settings(NAME)
    try:
        return dict(SmtpSettings().load(raw))
    except ma.ValidationError as problem:
        raise smtp.SmtpError(
            f"the e-mail settings are incomplete: {', '.join(sorted(problem.messages))}"
        ) from None


def _clean(text: str, settings: dict[str, Any]) -> str:
    # The server's answer may quote the address; a password never belongs in an error, even
    # if a server echoed it back.
    if settings.get("password"):
        text = text.replace(settings["password"], "***")
    return sdk.scrub_personal(text)
