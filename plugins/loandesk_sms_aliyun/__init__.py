"""SMS through Alibaba Cloud (阿里云短信服务, Dysmsapi): the ``sms`` channel for messages to
borrowers, sent with ``SendSms`` through the official SDK (which signs the requests) into one
template of the tenant's whose only variable takes the text; each mobile number gets at most
the tenant's daily limit of messages. See ``docs/connectors.md``."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

from loandesk import sdk
from loandesk_sms_aliyun.settings import AliyunSmsSettings

PLUGIN = sdk.PluginInfo(
    name="sms_aliyun",
    title_zh="阿里云短信",
    title_en="Alibaba Cloud SMS",
    version="1.0.0",
    description_zh="通过阿里云短信服务给借款人发短信：官方 SDK 签名、按消息幂等、"
    "每个手机号每日条数上限。",
    description_en="Text messages to borrowers through Alibaba Cloud SMS: requests signed by "
    "the official SDK, one OutId per message, a daily limit per mobile number.",
    settings_schema=AliyunSmsSettings,
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    # only to drop the daily-limit tables of 1.0 (the core counts now)
    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_notification_channels() -> list[sdk.Channel]:
    from loandesk_sms_aliyun.channel import daily_limit, send

    # borrowers only: the core reaches staff in the app or by e-mail, never by mobile; the
    # outbox counts each message against the tenant's daily limit per mobile before ``send``
    return [sdk.Channel("sms", "短信", "SMS", send, address_kind="mobile", daily_limit=daily_limit)]


@sdk.hookimpl
def loandesk_connectors() -> list[sdk.Connector]:
    from loandesk_sms_aliyun.channel import test

    return [
        sdk.Connector(
            "sms_aliyun", "阿里云短信", "Alibaba Cloud SMS", "sms_aliyun", test, channels=("sms",)
        )
    ]


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    from loandesk_sms_aliyun.receipts import bp

    # the provider's delivery receipts, at /t/<tenant>/sms-aliyun/receipts/<receipt_token>
    return [bp]
