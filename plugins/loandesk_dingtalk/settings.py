"""A tenant's DingTalk settings (the admin's form and the API validate with this schema). The
app secret and the group robot's access token and signing secret are stored encrypted and
never shown again; the rest is in the tenant bundle."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from loandesk import sdk

DEFAULT_BASE_URL = "https://oapi.dingtalk.com"
DEFAULT_API_URL = "https://api.dingtalk.com"  # the new server API (/v1.0/...)
DEFAULT_LOGIN_URL = "https://login.dingtalk.com"  # where staff sign in (/oauth2/auth)


def _address(label_zh: str, label_en: str, default: str) -> ma.fields.Url:
    """One of DingTalk's addresses: left as it is, except by tests (a local server)."""
    return ma.fields.Url(
        load_default=default,
        schemes={"http", "https"},
        require_tld=False,
        metadata=sdk.setting_labels(
            label_zh, label_en, f"一般不需修改：{default}", f"Leave as it is: {default}"
        ),
    )


class DingTalkSettings(ma.Schema):
    base_url = _address("开放平台地址", "Open API address", DEFAULT_BASE_URL)
    app_key = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=100),
        metadata=sdk.setting_labels(
            "应用 AppKey",
            "App key",
            "钉钉开发者后台企业内部应用的 AppKey",
            "The AppKey of the firm's internal app in the DingTalk developer console",
        ),
    )
    app_secret = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=8, max=200),
        metadata=sdk.setting_labels(
            "应用 AppSecret",
            "App secret",
            "加密保存，保存后不再显示",
            "Stored encrypted, never shown again",
            secret=True,
        ),
    )
    agent_id = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1),
        metadata=sdk.setting_labels(
            "应用 AgentId",
            "Agent id",
            "工作通知以该应用的名义发出",
            "Work notifications are sent in the name of this app",
        ),
    )
    robot_access_token = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=8, max=200),
        metadata=sdk.setting_labels(
            "群机器人 access_token",
            "Group robot access token",
            "自定义机器人 Webhook 地址中的 access_token；加密保存，保存后不再显示",
            "The access_token of the custom robot's webhook; stored encrypted, never shown again",
            secret=True,
        ),
    )
    robot_secret = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=8, max=200),
        metadata=sdk.setting_labels(
            "群机器人加签密钥",
            "Group robot signing secret",
            "机器人安全设置“加签”的密钥（SEC 开头）；加密保存，保存后不再显示",
            "The robot's signing secret (starts with SEC); stored encrypted, never shown again",
            secret=True,
        ),
    )
    sign_in_enabled = ma.fields.Boolean(
        load_default=False,
        metadata=sdk.setting_labels(
            "允许钉钉登录",
            "Allow signing in with DingTalk",
            "员工可用钉钉账号登录（须先在员工映射中填写其钉钉 userid）；回调地址见文档",
            "Staff may sign in with their DingTalk account (their DingTalk userid must be "
            "mapped first); see the docs for the redirect URL",
        ),
    )
    api_url = _address("新版服务端 API 地址", "Server API address", DEFAULT_API_URL)
    login_url = _address("登录授权页地址", "Sign-in page address", DEFAULT_LOGIN_URL)
    timeout_seconds = ma.fields.Integer(
        load_default=10,
        validate=validate.Range(min=1, max=60),
        metadata=sdk.setting_labels("超时（秒）", "Timeout (seconds)"),
    )
