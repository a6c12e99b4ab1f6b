"""The ``sms`` channel through Alibaba Cloud SMS: one message to one borrower's mobile (the
core's outbox keeps the daily limit per mobile number, read from ``daily_limit``). Alibaba's SDK
(with aiohttp, about half a second) is imported when a message is sent or the connector tested,
not when the app starts: every process (web workers, the CLI) gathers this channel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import marshmallow as ma

from loandesk import sdk
from loandesk_sms_aliyun.settings import AliyunSmsSettings

if TYPE_CHECKING:
    from loandesk_sms_aliyun.client import Account

NAME = "sms_aliyun"


def send(message: sdk.OutgoingMessage) -> str:
    """Send the message with ``SendSms``; the BizId. A message sent with one of the tenant's
    SMS templates goes as its TemplateCode with its params as TemplateParam; free text goes
    into the template of the settings as its one variable. The message key is the ``OutId``
    (it comes back in delivery receipts). Error texts never hold a whole mobile number (the
    outbox stores them) nor the AccessKey Secret."""
    from loandesk_sms_aliyun import client

    settings = _settings()
    template = message.template
    try:
        return client.send_sms(
            _account(settings),
            mobile=message.address,
            sign_name=settings["sign_name"],
            template_code=template.code if template else settings["template_code"],
            template_param=(
                template.as_dict() if template else {settings["template_param"]: message.body}
            ),
            out_id=message.key,
        )
    except sdk.Undeliverable as problem:  # the answer may name the mobile number
        raise sdk.Undeliverable(sdk.scrub_personal(str(problem))) from None
    except client.AliyunSmsError as problem:
        raise client.AliyunSmsError(sdk.scrub_personal(str(problem))) from None


def test(session: object) -> str:
    """The connector's test: the tenant's template queried (``QuerySmsTemplate``)."""
    from loandesk_sms_aliyun import client

    settings = _settings()
    return client.query_template(_account(settings), settings["template_code"])


def _account(settings: dict[str, Any]) -> Account:
    from loandesk_sms_aliyun import client

    endpoint = settings["endpoint"]
    # tests (and only tests) reach a local server over plain HTTP
    local = endpoint.split(":")[0] in {"127.0.0.1", "localhost"}
    return client.Account(
        access_key_id=settings["access_key_id"],
        access_key_secret=settings["access_key_secret"],
        endpoint=endpoint,
        timeout=settings["timeout_seconds"],
        protocol="HTTP" if local else "HTTPS",
    )


def _settings() -> dict[str, Any]:
    try:
        return dict(AliyunSmsSettings().load(sdk.plugin_settings(NAME)))
    except ma.ValidationError as problem:
        from loandesk_sms_aliyun import client

        raise client.AliyunSmsError(
            f"the Alibaba Cloud SMS settings are incomplete: {', '.join(sorted(problem.messages))}"
        ) from None


def daily_limit() -> int:
    """The tenant's daily limit per mobile number (the core's outbox counts)."""
    return int(_settings()["daily_limit"])
