"""Tencent Cloud SMS (腾讯云短信): the ``sms`` channel for messages to borrowers, sent with the
official SDK (``tencentcloud-sdk-python-sms``, API 2021-01-11 ``SendSms``, which signs every
request with TC3-HMAC-SHA256). LoanDesk composes free text, so the tenant registers a template
whose content is one variable ``{1}`` and the whole text fills it; each mobile number gets at
most the tenant's daily limit of messages. See ``docs/connectors.md``."""

from __future__ import annotations

from pathlib import Path

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
    import loandesk_sms_tencent.models  # noqa: F401  (the tables join the metadata)

    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_notification_channels() -> list[sdk.Channel]:
    from loandesk_sms_tencent.channel import send

    # borrowers only: the core reaches staff in the app or by e-mail, never by mobile
    return [sdk.Channel("sms", "短信", "SMS", send, address_kind="mobile")]


@sdk.hookimpl
def loandesk_connectors() -> list[sdk.Connector]:
    from loandesk_sms_tencent.channel import test

    return [
        sdk.Connector(
            "sms_tencent", "腾讯云短信", "Tencent Cloud SMS", "sms_tencent", test, channels=("sms",)
        )
    ]


@sdk.hookimpl
def loandesk_jobs() -> list[sdk.JobSpec]:
    from loandesk_sms_tencent.channel import forget_old_counts

    return [sdk.JobSpec("sms_tencent.forget_old_counts", forget_old_counts, max_attempts=3)]


@sdk.hookimpl
def loandesk_schedules() -> list[sdk.Schedule]:
    return [sdk.Schedule("sms_tencent.forget", "25 4 * * *", "sms_tencent.forget_old_counts")]
