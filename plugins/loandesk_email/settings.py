"""A tenant's SMTP settings (the admin's form and the API validate with this schema). The
password is stored encrypted and never shown again; the rest travels in the tenant bundle.

Security: ``starttls`` (the default: port 587, the connection upgraded before anything else is
said) or ``ssl`` (implicit TLS, port 465), both with the server's certificate verified against
the system's trusted authorities. ``none`` (no encryption) is accepted only for a relay on the
same machine (``localhost``, ``127.0.0.0/8``, ``::1``): nothing then crosses a network in the
clear."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import marshmallow as ma
from marshmallow import validate

from loandesk import sdk

SECURITY = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
# A host name (labels of letters, digits and hyphens) or an IPv4/IPv6 address.
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")  # fmt: skip
# Header values are one line: a line break would start another header.
_ONE_LINE = validate.Regexp(r"^[^\r\n]*$", error=sdk.N_("Enter a single line."))


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (a local relay such as Postfix)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host(value: str) -> None:
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        if not _HOST.match(value):
            raise ma.ValidationError(
                sdk.N_("Enter a host name such as smtp.example.cn, or an IP address.")
            ) from None


class SmtpSettings(ma.Schema):
    host = ma.fields.String(
        required=True,
        validate=_host,
        metadata=sdk.setting_labels(
            "SMTP 服务器", "SMTP server", "如 smtp.exmail.qq.com", "Such as smtp.exmail.qq.com"
        ),
    )
    security = ma.fields.String(
        load_default="starttls",
        validate=validate.OneOf(SECURITY),
        metadata=sdk.setting_labels(
            "加密方式",
            "Security",
            "starttls：587 端口，连接后升级为 TLS；ssl：465 端口，全程 TLS；"
            "none：不加密，仅限本机中继（localhost）",
            "starttls: port 587, upgraded to TLS after connecting; ssl: port 465, TLS "
            "throughout; none: no encryption, only for a relay on this machine (localhost)",
        ),
    )
    port = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=65535, error=sdk.N_("Enter a port from 1 to 65535.")),
        metadata=sdk.setting_labels(
            "端口",
            "Port",
            "留空则按加密方式使用 587、465 或 25",
            "Empty: 587, 465 or 25, as the security says",
        ),
    )
    username = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=200), _ONE_LINE],
        metadata=sdk.setting_labels(
            "用户名",
            "Username",
            "SMTP 登录账号；留空则不登录",
            "The SMTP login; empty: no login",
        ),
    )
    password = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=500),
        metadata=sdk.setting_labels(
            "密码 / 授权码",
            "Password (app password)",
            "加密保存，保存后不再显示",
            "Stored encrypted, never shown again",
            secret=True,
        ),
    )
    sender_address = ma.fields.Email(
        required=True,
        validate=validate.Length(max=254),
        metadata=sdk.setting_labels(
            "发件人地址", "Sender address", "如 notice@example.cn", "Such as notice@example.cn"
        ),
    )
    sender_name = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=100), _ONE_LINE],
        metadata=sdk.setting_labels("发件人名称", "Sender name", "如 某某小贷", "Such as 某某小贷"),
    )
    reply_to = ma.fields.Email(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=254),
        metadata=sdk.setting_labels("回复地址", "Reply-To address"),
    )
    subject_prefix = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=50), _ONE_LINE],
        metadata=sdk.setting_labels(
            "主题前缀", "Subject prefix", "如【某某小贷】", "Such as 【某某小贷】"
        ),
    )
    footer = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=2000),
        metadata=sdk.setting_labels(
            "邮件签名",
            "Signature (footer)",
            "纯文本，附在每封邮件正文之后",
            "Plain text, put after the text of every e-mail",
        ),
    )
    timeout_seconds = ma.fields.Integer(
        load_default=20,
        validate=validate.Range(min=1, max=60),
        metadata=sdk.setting_labels("超时（秒）", "Timeout (seconds)"),
    )

    @ma.validates_schema
    def _consistent(self, data: dict[str, Any], partial: Any = None, **_kwargs: Any) -> None:
        if data.get("security") == "none" and "host" in data and not is_loopback(data["host"]):
            raise ma.ValidationError(
                sdk.N_("Without encryption, only a relay on this machine (localhost) is allowed."),
                "security",
            )
        kept = partial if isinstance(partial, tuple) else ()
        if data.get("username") and not data.get("password") and "password" not in kept:
            raise ma.ValidationError(sdk.N_("Enter the password for this username."), "password")
