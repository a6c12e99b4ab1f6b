"""SMS through an HTTP gateway (短信网关): the ``sms`` channel for messages to borrowers, for
firms whose SMS gateway (their own or a regional one) takes one signed JSON ``POST`` per
message. The request (body template, HMAC-SHA256 signature, idempotency key) is described in
``loandesk_sms_http.gateway`` and ``docs/connectors.md``; each mobile number gets at most the
tenant's daily limit of messages."""

from __future__ import annotations

from pathlib import Path

from loandesk import sdk
from loandesk_sms_http.settings import GatewaySettings

PLUGIN = sdk.PluginInfo(
    name="sms_http",
    title_zh="短信网关（HTTP）",
    title_en="SMS gateway (HTTP)",
    version="1.0.0",
    description_zh="通过机构自有或区域短信网关的 HTTP 接口给借款人发短信：请求签名、幂等、"
    "每个手机号每日条数上限。",
    description_en="Text messages to borrowers through the firm's own or a regional SMS "
    "gateway's HTTP API: signed requests, idempotent retries, a daily limit per mobile number.",
    settings_schema=GatewaySettings,
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    # only to drop the daily-limit tables of 1.0 (the core counts now)
    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_notification_channels() -> list[sdk.Channel]:
    from loandesk_sms_http.channel import daily_limit, send

    # borrowers only: the core reaches staff in the app or by e-mail, never by mobile; the
    # outbox counts each message against the tenant's daily limit per mobile before ``send``
    return [sdk.Channel("sms", "短信", "SMS", send, address_kind="mobile", daily_limit=daily_limit)]


@sdk.hookimpl
def loandesk_connectors() -> list[sdk.Connector]:
    from loandesk_sms_http.channel import test

    return [
        sdk.Connector(
            "sms_http",
            "短信网关（HTTP）",
            "SMS gateway (HTTP)",
            "sms_http",
            test,
            channels=("sms",),
        )
    ]
