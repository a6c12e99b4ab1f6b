"""A tenant's Alibaba Cloud SMS settings (the admin's form and the API validate with this
schema). The AccessKey Secret is stored encrypted and never shown again; the rest is in the
tenant bundle."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from loandesk import sdk

DEFAULT_ENDPOINT = "dysmsapi.aliyuncs.com"


class AliyunSmsSettings(ma.Schema):
    access_key_id = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata=sdk.setting_labels("AccessKey ID", "AccessKey ID"),
    )
    access_key_secret = ma.fields.String(
        required=True,
        validate=validate.Length(min=8, max=200),
        metadata=sdk.setting_labels(
            "AccessKey Secret",
            "AccessKey Secret",
            "用于请求签名，加密保存，保存后不再显示",
            "Signs every request; stored encrypted, never shown again",
            secret=True,
        ),
    )
    endpoint = ma.fields.String(
        load_default=DEFAULT_ENDPOINT,
        validate=validate.Regexp(
            r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$",
            error=sdk.N_("Enter a host name such as dysmsapi.aliyuncs.com."),
        ),
        metadata=sdk.setting_labels(
            "接入地址",
            "Endpoint",
            "默认 dysmsapi.aliyuncs.com",
            "dysmsapi.aliyuncs.com unless Alibaba Cloud says otherwise",
        ),
    )
    sign_name = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=30),
        metadata=sdk.setting_labels(
            "短信签名", "Sign name", "已审核通过的签名，如 某某小贷", "An approved sign name"
        ),
    )
    template_code = ma.fields.String(
        required=True,
        validate=validate.Regexp(
            r"^SMS_[0-9]+$", error=sdk.N_("Enter a template code such as SMS_123456789.")
        ),
        metadata=sdk.setting_labels(
            "模板 CODE",
            "Template code",
            "内容为一个变量的模板，如 ${content}",
            "A template that is one variable, such as ${content}",
        ),
    )
    template_param = ma.fields.String(
        load_default="content",
        validate=validate.Regexp(
            r"^[A-Za-z][A-Za-z0-9_]{0,29}$", error=sdk.N_("Enter a variable name such as content.")
        ),
        metadata=sdk.setting_labels(
            "模板变量名",
            "Template variable",
            "短信正文放入的模板变量",
            "The template variable the message text goes into",
        ),
    )
    timeout_seconds = ma.fields.Integer(
        load_default=10,
        validate=validate.Range(min=1, max=60),
        metadata=sdk.setting_labels("超时（秒）", "Timeout (seconds)"),
    )
    daily_limit = ma.fields.Integer(
        load_default=10,
        validate=validate.Range(min=1, max=1000),
        metadata=sdk.setting_labels(
            "每个手机号每日上限",
            "Daily limit per mobile number",
            "按机构时区的自然日计；超出的短信不再发送",
            "Per day in the firm's time zone; messages over it are not sent",
        ),
    )
    receipt_token = sdk.receipt_token_setting()
