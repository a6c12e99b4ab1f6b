"""A tenant's gateway settings (the admin's form and the API validate with this schema). The
secret key is stored encrypted and never shown again; the rest is in the tenant bundle."""

from __future__ import annotations

import json

import marshmallow as ma
from marshmallow import validate

from loandesk import sdk
from loandesk_sms_http.gateway import FIELD_PATH, PLACEHOLDER, PLACEHOLDERS

DEFAULT_TEMPLATE = json.dumps(
    {
        "account": "{{account}}",
        "mobile": "{{mobile}}",
        "content": "{{content}}",
        "sign": "{{signature}}",
        "request_id": "{{key}}",
        "timestamp": "{{timestamp}}",
    }
)


def _template_problems(template: str) -> None:
    try:
        parsed = json.loads(template)
    except ValueError:
        raise ma.ValidationError(sdk.N_("Enter a JSON object.")) from None
    if not isinstance(parsed, dict):
        raise ma.ValidationError(sdk.N_("Enter a JSON object."))
    used = set(PLACEHOLDER.findall(template))
    if not used <= set(PLACEHOLDERS):
        raise ma.ValidationError(
            sdk.N_(
                "Use only the placeholders {{account}}, {{mobile}}, {{content}}, "
                "{{signature}}, {{key}}, {{timestamp}}, {{template}} and {{params}}."
            )
        )
    if not {"mobile", "content"} <= used:
        raise ma.ValidationError(sdk.N_("The body needs {{mobile}} and {{content}}."))


_PATH_HELP_ZH = "应答 JSON 中的字段，多层用点号分隔，如 result.code、data.0.msgid"
_PATH_HELP_EN = "A field of the JSON answer, levels split by dots: result.code, data.0.msgid"


class GatewaySettings(ma.Schema):
    gateway_url = ma.fields.Url(
        required=True,
        schemes={"http", "https"},
        require_tld=False,
        metadata=sdk.setting_labels(
            "网关地址", "Gateway URL", "短信网关的发送接口", "The gateway's send URL"
        ),
    )
    account_id = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata=sdk.setting_labels("账号 / AppID", "Account (app) id"),
    )
    secret_key = ma.fields.String(
        required=True,
        validate=validate.Length(min=8, max=500),
        metadata=sdk.setting_labels(
            "密钥",
            "Secret key",
            "用于请求签名（HMAC-SHA256），加密保存，保存后不再显示",
            "Signs every request (HMAC-SHA256); stored encrypted, never shown again",
            secret=True,
        ),
    )
    signature = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=30),
        metadata=sdk.setting_labels(
            "短信签名", "Signature", "如【某某小贷】", "Such as 【某某小贷】"
        ),
    )
    prepend_signature = ma.fields.Boolean(
        load_default=True,
        metadata=sdk.setting_labels(
            "签名加在正文前",
            "Put the signature before the text",
            "网关不单独接收签名时勾选",
            "When the gateway does not take the signature separately",
        ),
    )
    body_template = ma.fields.String(
        load_default=DEFAULT_TEMPLATE,
        validate=[validate.Length(max=4000), _template_problems],
        metadata=sdk.setting_labels(
            "请求体模板",
            "Body template",
            "JSON；可用占位符 {{account}} {{mobile}} {{content}} {{signature}} {{key}}（幂等键）"
            " {{timestamp}} {{template}}（短信模板编号）{{params}}（模板参数 JSON 对象）",
            "JSON with placeholders {{account}} {{mobile}} {{content}} {{signature}} {{key}} "
            "(idempotency key) {{timestamp}} {{template}} (the SMS template's code) {{params}} "
            "(its params, a JSON object)",
        ),
    )
    success_field = ma.fields.String(
        load_default="code",
        validate=validate.Regexp(
            FIELD_PATH, error=sdk.N_("Enter a field path such as result.code.")
        ),
        metadata=sdk.setting_labels("成功判断字段", "Success field", _PATH_HELP_ZH, _PATH_HELP_EN),
    )
    success_value = ma.fields.String(
        load_default="0",
        validate=validate.Length(min=1, max=100),
        metadata=sdk.setting_labels(
            "成功值", "Success value", "该字段等于此值即发送成功", "Sent when the field equals this"
        ),
    )
    id_field = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(
            FIELD_PATH, error=sdk.N_("Enter a field path such as result.code.")
        ),
        metadata=sdk.setting_labels(
            "消息编号字段", "Message id field", _PATH_HELP_ZH, _PATH_HELP_EN
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
