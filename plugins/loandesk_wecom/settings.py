"""A tenant's WeCom settings (the admin's form and the API validate with this schema). The
app secret and the group robot's webhook key are stored encrypted and never shown again; the
rest is in the tenant bundle."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from loandesk import sdk

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
DEFAULT_LOGIN_URL = "https://login.work.weixin.qq.com"  # where staff sign in (/wwlogin/sso/login)


class WeComSettings(ma.Schema):
    base_url = ma.fields.Url(
        load_default=DEFAULT_BASE_URL,
        schemes={"http", "https"},
        require_tld=False,
        metadata=sdk.setting_labels(
            "接口地址",
            "API address",
            "一般不需修改：https://qyapi.weixin.qq.com；私有化部署的企业微信填写其接口地址",
            "Leave as it is (https://qyapi.weixin.qq.com) unless WeCom is deployed privately",
        ),
    )
    corp_id = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$"),
        metadata=sdk.setting_labels(
            "企业 ID（CorpID）",
            "Corp ID",
            "企业微信管理后台“我的企业 → 企业信息”中的企业 ID",
            "The corp ID under My company → Company info in the WeCom admin console",
        ),
    )
    agent_id = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1),
        metadata=sdk.setting_labels(
            "应用 AgentId",
            "Agent id",
            "自建应用的 AgentId：应用消息以该应用的名义发出",
            "The AgentId of the firm's own app: messages are sent in its name",
        ),
    )
    app_secret = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=8, max=200),
        metadata=sdk.setting_labels(
            "应用 Secret",
            "App secret",
            "自建应用的 Secret；加密保存，保存后不再显示",
            "The Secret of the firm's own app; stored encrypted, never shown again",
            secret=True,
        ),
    )
    robot_key = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=8, max=200),
        metadata=sdk.setting_labels(
            "群机器人 Webhook key",
            "Group robot webhook key",
            "群机器人 Webhook 地址中 key= 后的部分；持有者即可向群发消息，加密保存，保存后不再显示",
            "The part after key= in the group robot's webhook address: whoever holds it can "
            "post to the group; stored encrypted, never shown again",
            secret=True,
        ),
    )
    sign_in_enabled = ma.fields.Boolean(
        load_default=False,
        metadata=sdk.setting_labels(
            "允许企业微信登录",
            "Allow signing in with WeCom",
            "员工可用企业微信扫码登录（须先在员工映射中填写其企业微信 userid，并把 LoanDesk "
            "的域名设为应用的可信域名）；回调地址见文档",
            "Staff may sign in with WeCom (their WeCom userid must be mapped first, and "
            "LoanDesk's domain be the app's trusted domain); see the docs for the redirect URL",
        ),
    )
    login_url = ma.fields.Url(
        load_default=DEFAULT_LOGIN_URL,
        schemes={"http", "https"},
        require_tld=False,
        metadata=sdk.setting_labels(
            "登录页地址",
            "Sign-in page address",
            f"一般不需修改：{DEFAULT_LOGIN_URL}",
            f"Leave as it is: {DEFAULT_LOGIN_URL}",
        ),
    )
    timeout_seconds = ma.fields.Integer(
        load_default=10,
        validate=validate.Range(min=1, max=60),
        metadata=sdk.setting_labels("超时（秒）", "Timeout (seconds)"),
    )
