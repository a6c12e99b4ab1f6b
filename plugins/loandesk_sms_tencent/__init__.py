"""Tencent Cloud SMS (腾讯云短信): the ``sms`` channel for messages to borrowers, sent with the
official SDK (``tencentcloud-sdk-python-sms``, API 2021-01-11 ``SendSms``, which signs every
request with TC3-HMAC-SHA256). LoanDesk composes free text, so the tenant registers a template
whose content is one variable ``{1}`` and the whole text fills it; each mobile number gets at
most the tenant's daily limit of messages. See ``docs/connectors.md``."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

from loandesk import sdk
from loandesk_sms_tencent.settings import TencentSettings

PLUGIN = sdk.PluginInfo(
    name="sms_tencent",
    title_zh="腾讯云短信",
    title_en="Tencent Cloud SMS",
    version="1.0.0",
    description_zh="通过腾讯云短信给借款人发短信：官方 SDK 签名、错误码分类重试、"
    "每个手机号每日条数上限。",
    description_en="Text messages to borrowers through Tencent Cloud SMS: requests signed by "
    "the official SDK, errors sorted into retry or give up, a daily limit per mobile number.",
    settings_schema=TencentSettings,
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    # only to drop the daily-limit tables of 1.0 (the core counts now)
    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_notification_channels() -> list[sdk.Channel]:
    from loandesk_sms_tencent.channel import daily_limit, send

    # borrowers only: the core reaches staff in the app or by e-mail, never by mobile; the
    # outbox counts each message against the tenant's daily limit per mobile before ``send``
    return [sdk.Channel("sms", "短信", "SMS", send, address_kind="mobile", daily_limit=daily_limit)]


@sdk.hookimpl
def loandesk_connectors() -> list[sdk.Connector]:
    from loandesk_sms_tencent.channel import test

    return [
        sdk.Connector(
            "sms_tencent", "腾讯云短信", "Tencent Cloud SMS", "sms_tencent", test, channels=("sms",)
        )
    ]


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    from loandesk_sms_tencent.receipts import bp

    # the provider's delivery receipts, at /t/<tenant>/sms-tencent/receipts/<receipt_token>
    return [bp]
