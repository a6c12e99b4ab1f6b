"""A tenant's credit-data settings (the admin's form and the API validate with this schema):
which connector, how long a result is reused, what a query costs, and the built-in bureau
connector's URL and credentials. The secret key is stored encrypted and never shown again."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import marshmallow as ma
from marshmallow import validate

from loandesk import sdk

BUILTIN = "credit.bureau"


def cost(value: object) -> Decimal:
    """A cost per query in yuan with at most two decimals (stored as 分), never a float."""
    try:
        amount = Decimal(str(value)) if isinstance(value, str | int) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ma.ValidationError(sdk.N_("Enter an amount such as 2.50."))
    return amount


def _reachable(url: object) -> None:
    """The installation's outbound policy (as for webhooks): https unless http is allowed,
    no user or password in the URL. The host's addresses are checked at every request."""
    if url is not None and (problem := sdk.outbound_url_problem(url, _policy(), lookup=False)):
        raise ma.ValidationError(problem)


def _policy() -> sdk.OutboundPolicy:
    return sdk.OutboundPolicy.of_app()


class CreditSettings(ma.Schema):
    connector = ma.fields.String(
        load_default=BUILTIN,
        validate=validate.Length(min=1, max=100),
        metadata=sdk.setting_labels(
            "数据源",
            "Connector",
            "查询所用的连接器，内置为 credit.bureau",
            "The connector queries go to; the built-in one is credit.bureau",
        ),
    )
    validity_days = ma.fields.Integer(
        load_default=30,
        validate=validate.Range(min=0, max=365),
        metadata=sdk.setting_labels(
            "结果有效期（天）",
            "Result validity (days)",
            "有效期内再次查询同一客户直接使用已有结果，不再计费；0 表示每次都查询",
            "Within it a query of the same customer reuses the result at no cost; 0: always ask",
        ),
    )
    cost_per_query = ma.fields.String(
        load_default="0",
        validate=cost,
        metadata=sdk.setting_labels(
            "每次查询费用（元）",
            "Cost per query (yuan)",
            "数据源返回结果的每次查询计费，如 2.50",
            "Counted for every query the connector answers, such as 2.50",
        ),
    )
    bureau_url = ma.fields.Url(
        load_default=None,
        allow_none=True,
        schemes={"http", "https"},
        require_tld=False,
        validate=_reachable,
        metadata=sdk.setting_labels(
            "征信接口地址", "Bureau URL", "内置连接器的查询接口", "The query URL"
        ),
    )
    api_key = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata=sdk.setting_labels("API Key", "API key"),
    )
    secret_key = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=8, max=500),
        metadata=sdk.setting_labels(
            "密钥",
            "Secret key",
            "用于请求签名（HMAC-SHA256），加密保存，保存后不再显示",
            "Signs every request (HMAC-SHA256); stored encrypted, never shown again",
            secret=True,
        ),
    )
    timeout_seconds = ma.fields.Integer(
        load_default=10,
        validate=validate.Range(min=1, max=60),
        metadata=sdk.setting_labels("超时（秒）", "Timeout (seconds)"),
    )
