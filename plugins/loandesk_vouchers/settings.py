"""A tenant's voucher settings (the admin's form and the API validate with this schema): the
voucher word and who prepares them, and the Kingdee Cloud 星空 WebAPI connection. The
password is stored encrypted and never shown again; the rest is in the tenant bundle."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from loandesk import sdk


def _text(
    zh: str, en: str, *, help_zh: str = "", help_en: str = "", size: int = 100
) -> ma.fields.Field:
    return ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=size),
        metadata=sdk.setting_labels(zh, en, help_zh, help_en),
    )


class VouchersSettings(ma.Schema):
    voucher_word = ma.fields.String(
        load_default="记",
        validate=validate.Length(min=1, max=4),
        metadata=sdk.setting_labels("凭证字", "Voucher word", "一般为“记”", "Usually 记"),
    )
    preparer = _text(
        "制单人",
        "Prepared by",
        help_zh="导出文件中的制单人",
        help_en="The preparer named in exported files",
        size=40,
    )
    kingdee_base_url = ma.fields.Url(
        load_default=None,
        allow_none=True,
        schemes={"http", "https"},
        require_tld=False,
        metadata=sdk.setting_labels(
            "金蝶云星空地址",
            "Kingdee Cloud address",
            "例如 https://erp.example.com/k3cloud/",
            "For example https://erp.example.com/k3cloud/",
        ),
    )
    kingdee_acct_id = _text(
        "数据中心 ID",
        "Data centre id",
        help_zh="登录时的账套（acctID）",
        help_en="The acctID used to sign in",
    )
    kingdee_username = _text("集成用户", "Integration user")
    kingdee_password = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=200),
        metadata=sdk.setting_labels(
            "集成用户密码",
            "Integration user's password",
            "加密保存，保存后不再显示",
            "Stored encrypted, never shown again",
            secret=True,
        ),
    )
    kingdee_lcid = ma.fields.Integer(
        load_default=2052,
        validate=validate.OneOf((2052, 1033, 3076)),
        metadata=sdk.setting_labels(
            "语言", "Language", "2052 为简体中文", "2052 is Simplified Chinese"
        ),
    )
    kingdee_account_book = _text("账簿编码", "Account book code", size=40)
    kingdee_voucher_group = ma.fields.String(
        load_default="PRE001",
        validate=validate.Length(min=1, max=40),
        metadata=sdk.setting_labels(
            "凭证字编码", "Voucher word code", "星空中凭证字“记”的编码", "The code of 记 in Kingdee"
        ),
    )
    kingdee_customer_dimension = ma.fields.String(
        load_default="FFLEX6",
        validate=validate.Regexp(r"^FFLEX\d{1,2}$"),
        metadata=sdk.setting_labels("客户维度标识", "Customer dimension key"),
    )
    kingdee_product_dimension = ma.fields.String(
        load_default="FFLEX8",
        validate=validate.Regexp(r"^FFLEX\d{1,2}$"),
        metadata=sdk.setting_labels("产品维度标识", "Product dimension key"),
    )
    timeout_seconds = ma.fields.Integer(
        load_default=15,
        validate=validate.Range(min=1, max=120),
        metadata=sdk.setting_labels("超时（秒）", "Timeout (seconds)"),
    )
