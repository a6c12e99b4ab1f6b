"""The contracts plugin's settings (per tenant)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from loandesk import sdk


class ContractsSettings(ma.Schema):
    require_signed = ma.fields.Boolean(
        load_default=True,
        metadata=sdk.setting_labels(
            "放款前须签署合同",
            "A signed contract is required before payout",
            "关闭后，未签署合同的贷款也可以放款",
            "Off: loans without a signed contract may be paid out too",
        ),
    )
    expiry_days = ma.fields.Integer(
        load_default=7,
        validate=ma.validate.Range(1, 90),
        metadata=sdk.setting_labels(
            "签署期限（天）",
            "Days to sign",
            "合同发出后未在此期限内签署即失效",
            "A sent contract not signed within this many days expires",
        ),
    )
    reminder_days = ma.fields.Integer(
        load_default=2,
        validate=ma.validate.Range(0, 30),
        metadata=sdk.setting_labels(
            "到期前提醒（天）",
            "Remind days before expiry",
            "签署期限到期前多少天短信提醒借款人；0 为不提醒",
            "How many days before a contract expires the borrower gets an SMS; 0: never",
        ),
    )
    link_days = ma.fields.Integer(
        load_default=60,
        validate=ma.validate.Range(1, 400),
        metadata=sdk.setting_labels(
            "借款人链接有效期（天）",
            "Borrower link valid for (days)",
            "借款人通过短信链接查看合同、还款计划和还款记录的期限",
            "How long the SMS link shows the borrower the contract, schedule and payments",
        ),
    )


def current() -> dict[str, Any]:
    """The current tenant's settings with their defaults."""
    loaded: dict[str, Any] = ContractsSettings().load({})
    loaded.update({k: v for k, v in sdk.plugin_settings("contracts").items() if v is not None})
    return loaded
