"""The ``sms`` channel: one message to one borrower's mobile through the tenant's gateway,
within the daily limit per mobile number, and the nightly job that forgets old counts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma

from loandesk import sdk
from loandesk_sms_http import gateway, quota
from loandesk_sms_http.settings import GatewaySettings

NAME = "sms_http"


def send(message: sdk.OutgoingMessage) -> str:
    """Count the message against its mobile's daily limit, then post it; the gateway's id.
    ``Undeliverable`` over the limit, ``GatewayError`` (tried again) otherwise. Error texts
    never hold a whole mobile number (the outbox stores them); the secret key only signs."""
    settings = _settings()
    now = sdk.utcnow()
    day = _local_day(now)
    if not _counted(message, day, settings["daily_limit"]):
        raise sdk.Undeliverable(
            sdk.scrub_personal(
                f"daily limit of {settings['daily_limit']} messages to {message.address} "
                f"reached on {day.isoformat()}"
            )
        )
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
    values = {
        "account": settings["account_id"],
        "mobile": message.address,
        "content": content,
        "signature": signature,
        "key": message.key,
        "timestamp": timestamp,
    }
    return gateway.render(settings["body_template"], values)


def _settings() -> dict[str, Any]:
    try:
        return dict(GatewaySettings().load(sdk.plugin_settings(NAME)))
    except ma.ValidationError as problem:
        raise gateway.GatewayError(
            f"the SMS gateway settings are incomplete: {', '.join(sorted(problem.messages))}"
        ) from None


def _local_day(moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(sdk.current().timezone)).date()


def _counted(message: sdk.OutgoingMessage, day: date, limit: int) -> bool:
    mobile_hash = sdk.keyring().search_hash("mobile", message.address)
    assert mobile_hash is not None  # the outbox encrypted the address: there is a data key
    # committed before the request goes out, apart from the outbox's transaction
    with sdk.transaction() as session:
        return quota.count(
            session, message_key=message.key, mobile_hash=mobile_hash, day=day, limit=limit
        )


def forget_old_counts(ctx: sdk.JobContext) -> None:
    """Delete the counts of days before yesterday (tenant time): a message's retries are over
    within two hours, so yesterday's are the oldest still needed."""
    quota.forget_before(ctx.session, _local_day(sdk.utcnow()) - timedelta(days=1))
