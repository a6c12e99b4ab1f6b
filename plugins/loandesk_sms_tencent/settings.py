"""A tenant's Tencent Cloud SMS settings (the admin's form and the API validate with this
schema). The SecretKey is stored encrypted and never shown again; the rest is in the tenant
bundle."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from loandesk import sdk

ENDPOINT = "sms.tencentcloudapi.com"


class TencentSettings(ma.Schema):
    secret_id = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata=sdk.setting_labels(
            "SecretId", "SecretId", "腾讯云访问管理中的 API 密钥 ID", "The API key's id (CAM)"
        ),
    )
    secret_key = ma.fields.String(
        required=True,
        validate=validate.Length(min=8, max=200),
        metadata=sdk.setting_labels(
            "SecretKey",
            "SecretKey",
            "用于请求签名（TC3-HMAC-SHA256），加密保存，保存后不再显示",
            "Signs every request (TC3-HMAC-SHA256); stored encrypted, never shown again",
            secret=True,
        ),
    )
    region = ma.fields.String(
        load_default="ap-guangzhou",
        validate=validate.Regexp(
            r"^[a-z]+(-[a-z]+)+$", error=sdk.N_("Enter a region such as ap-guangzhou.")
        ),
        metadata=sdk.setting_labels("地域", "Region", "如 ap-guangzhou", "Such as ap-guangzhou"),
    )
    endpoint = ma.fields.String(
        load_default=ENDPOINT,
        validate=validate.Regexp(
            r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$",
            error=sdk.N_("Enter a host name such as sms.tencentcloudapi.com."),
        ),
        metadata=sdk.setting_labels(
            "接入域名", "Endpoint", "一般无需修改", "Leave as it is unless told otherwise"
        ),
    )
    sms_sdk_app_id = ma.fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9]{1,20}$", error=sdk.N_("Enter the SDK AppID (digits).")),
        metadata=sdk.setting_labels(
            "短信应用 SdkAppId",
            "SMS SdkAppId",
            "短信控制台「应用管理」中的应用 ID",
            "The application id in the SMS console",
        ),
    )
    sign_name = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=30),
        metadata=sdk.setting_labels(
            "短信签名",
            "Signature",
            "已审核通过的签名内容，不含【】",
            "An approved signature, without 【】",
        ),
    )
    template_id = ma.fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9]{1,20}$", error=sdk.N_("Enter the template ID (digits).")),
        metadata=sdk.setting_labels(
            "正文模板 ID",
            "Template ID",
            "模板内容须只有一个变量 {1}，短信正文整段填入该变量",
            "The template must have one variable {1}: the whole message text fills it",
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
