"""E-mail through the firm's SMTP server (电子邮件): the ``email`` channel, which reaches staff
who chose e-mail and borrowers with an e-mail address, from the tenant's own sender with its
subject prefix and signature. The connection is TLS with the certificate verified (STARTTLS or
implicit TLS; plain SMTP only to a relay on the same machine); the password is a secret
setting. The protocol and the error handling are in ``loandesk_email.smtp`` and
``docs/connectors.md``; ``POST /api/v1/email/test`` sends an admin a test e-mail."""

from __future__ import annotations

from flask_smorest import Blueprint as ApiBlueprint

from loandesk import sdk
from loandesk_email.settings import SmtpSettings

PLUGIN = sdk.PluginInfo(
    name="email",
    title_zh="电子邮件（SMTP）",
    title_en="E-mail (SMTP)",
    version="1.0.0",
    description_zh="通过机构自己的 SMTP 服务器发送邮件通知（员工与借款人）：TLS 加密并校验证书，"
    "机构自己的发件人、主题前缀和签名；可发送测试邮件检查设置。",
    description_en="E-mail notifications to staff and borrowers through the firm's own SMTP "
    "server: TLS with the certificate verified, the firm's own sender, subject prefix and "
    "signature; a test e-mail checks the settings.",
    settings_schema=SmtpSettings,
)


@sdk.hookimpl
def loandesk_notification_channels() -> list[sdk.Channel]:
    from loandesk_email.channel import send

    return [
        sdk.Channel(
            "email",
            "电子邮件",
            "E-mail",
            send,
            address_kind="email",
            audiences=frozenset({"staff", "borrower"}),
        )
    ]


@sdk.hookimpl
def loandesk_connectors() -> list[sdk.Connector]:
    from loandesk_email.channel import test

    return [sdk.Connector("email", "电子邮件（SMTP）", "E-mail (SMTP)", "email", test,
                          channels=("email",))]  # fmt: skip


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_email.api import blp

    return [blp]
