"""The ``sms`` channel: one message to one borrower's mobile through the tenant's gateway (the
core's outbox keeps the daily limit per mobile number, read from ``daily_limit``)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from loandesk import sdk
from loandesk_sms_http import gateway
from loandesk_sms_http.settings import GatewaySettings

NAME = "sms_http"


def send(message: sdk.OutgoingMessage) -> str:
    """Post the message; the gateway's id. ``GatewayError`` (tried again) otherwise. Error texts
    never hold a whole mobile number (the outbox stores them); the secret key only signs."""
    settings = _settings()
    now = sdk.utcnow()
    timestamp = int(now.timestamp())
    try:
        return gateway.post(
            _gateway(settings),
            _body(settings, message, timestamp),
            timestamp=str(timestamp),
            key=message.key,
        )
    except gateway.GatewayError as problem:  # its answer may name the mobile number
        raise gateway.GatewayError(sdk.scrub_personal(str(problem))) from None


def test(session: object) -> str:
    """The connector's test: a ``HEAD`` to the gateway URL, without key or body. The gateway's
    API has no call that checks the account and key without sending a message, so this
    shows only that the URL answers; the key is checked by each send."""
    settings = _settings()
    answered = sdk.connector_reachable(settings["gateway_url"], settings["timeout_seconds"],
                                       "the gateway")  # fmt: skip
    return f"{answered}; the key is checked by each send"


def _gateway(settings: dict[str, Any]) -> gateway.Gateway:
    return gateway.Gateway(
        url=settings["gateway_url"],
        account=settings["account_id"],
        secret=settings["secret_key"],
        timeout=settings["timeout_seconds"],
        success_field=settings["success_field"],
        success_value=settings["success_value"],
        id_field=settings["id_field"] or "",
    )


def _body(settings: dict[str, Any], message: sdk.OutgoingMessage, timestamp: int) -> bytes:
    signature = settings["signature"] or ""
    content = signature + message.body if settings["prepend_signature"] else message.body
    template = message.template  # with one, the body is its rendered text
    values: dict[str, str | int | dict[str, str]] = {
        "account": settings["account_id"],
        "mobile": message.address,
        "content": content,
        "signature": signature,
        "key": message.key,
        "timestamp": timestamp,
        "template": template.code if template else "",
        "params": template.as_dict() if template else {},
    }
    return gateway.render(settings["body_template"], values)


def _settings() -> dict[str, Any]:
    try:
        return dict(GatewaySettings().load(sdk.plugin_settings(NAME)))
    except ma.ValidationError as problem:
        raise gateway.GatewayError(
            f"the SMS gateway settings are incomplete: {', '.join(sorted(problem.messages))}"
        ) from None


def daily_limit() -> int:
    """The tenant's daily limit per mobile number (the core's outbox counts)."""
    return int(_settings()["daily_limit"])
