"""The collections plugin's settings (per tenant; exported and applied with the tenant's
bundle like every plugin's)."""

from __future__ import annotations

import marshmallow as ma

from loandesk import sdk


class CollectionsSettings(ma.Schema):
    promise_grace_days = ma.fields.Integer(
        load_default=0,
        validate=ma.validate.Range(min=0, max=30),
        metadata=sdk.setting_labels(
            "承诺还款宽限天数",
            "Grace days on a promise to pay",
            "承诺日期过后多少天仍未足额还款才算违约（0：承诺日次日即算违约）。",
            "Days after the promised date before a promise not paid in full counts as "
            "broken (0: the day after).",
        ),
    )


def grace_days() -> int:
    value = sdk.plugin_settings("collections").get("promise_grace_days")
    return int(value) if value is not None else 0
