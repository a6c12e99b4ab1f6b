"""Early warning's settings (per tenant): each rule on or off with its thresholds, how rule
hits and the model's score make a level, and what the model learns to predict."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from loandesk import sdk


def _flag(zh: str, en: str) -> ma.fields.Boolean:
    return ma.fields.Boolean(load_default=True, metadata=sdk.setting_labels(zh, en))


def _number(
    default: int, low: int, high: int, zh: str, en: str, help_zh: str = "", help_en: str = ""
) -> ma.fields.Integer:
    return ma.fields.Integer(
        load_default=default,
        validate=validate.Range(low, high),
        metadata=sdk.setting_labels(zh, en, help_zh, help_en),
    )


class WarningSettings(ma.Schema):
    first_payment_rule = _flag("首期违约风险规则", "First payment default rule")
    first_payment_days = _number(
        7, 0, 60, "首期到期前天数", "Days before the first due date",
        "新贷款首期在这些天内到期（或已到期）且尚无还款时触发",
        "Fires when a new loan's first installment is due within these days (or is past due) "
        "and nothing has been paid",
    )  # fmt: skip
    first_payment_min_score = _number(
        0, 0, 100, "首期规则的最低模型分", "Lowest model score for the first payment rule",
        "有生效模型时，模型分达到此值才触发", "With an active model, fires only from this score",
    )  # fmt: skip
    partial_payment_rule = _flag("部分还款规则", "Partial payment rule")
    partial_payment_days = _number(
        30, 1, 365, "部分还款观察天数", "Days a partial payment counts",
        "这些天内有还款后仍有逾期金额时触发",
        "Fires when a payment within these days left an overdue amount",
    )  # fmt: skip
    contact_change_rule = _flag("联系方式变更规则", "Contact change rule")
    contact_change_days = _number(
        30, 1, 365, "联系方式变更观察天数", "Days a contact change counts",
        "这些天内借款人手机号或地址变更时触发",
        "Fires when the borrower's mobile or address changed within these days",
    )  # fmt: skip
    enquiries_rule = _flag("多头查询规则", "Many bureau enquiries rule")
    enquiries_90d = _number(
        5, 1, 100, "近90天征信查询次数", "Bureau enquiries in 90 days",
        "征信数据显示近90天被查询达到此次数时触发",
        "Fires when the credit data shows this many enquiries in 90 days",
    )  # fmt: skip
    promise_rule = _flag("多次违约承诺规则", "Repeated broken promises rule")
    promises_broken = _number(
        2, 1, 20, "违约承诺次数", "Broken promises",
        "观察期内承诺还款违约达到此次数时触发", "Fires at this many broken promises to pay",
    )  # fmt: skip
    promise_days = _number(90, 1, 365, "违约承诺观察天数", "Days broken promises count")
    rule_points = _number(
        30, 0, 100, "每条规则命中加分", "Points per rule hit",
        "预警分 = 模型分 + 命中规则数 × 此分值（最高100）",
        "Score = model score + rule hits × these points (at most 100)",
    )  # fmt: skip
    medium_score = _number(30, 1, 100, "中风险预警分", "Medium level from score")
    high_score = _number(60, 1, 100, "高风险预警分", "High level from score")
    label_dpd = _number(
        30, 1, 180, "模型预测的逾期天数", "Days past due the model predicts",
        "模型预测贷款在观察期内逾期达到此天数的概率",
        "The model predicts the chance a loan reaches this many days past due",
    )  # fmt: skip
    label_days = _number(90, 30, 365, "模型观察期（天）", "Model's outcome window (days)")
    min_training_rows = _number(
        200, 20, 1_000_000, "训练所需最少样本数", "Fewest rows to train on",
    )  # fmt: skip
    min_positives = _number(
        20, 5, 1_000_000, "训练所需最少逾期样本数", "Fewest positives to train on"
    )

    @ma.validates_schema
    def _levels(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("medium_score", 30) > data.get("high_score", 60):
            raise ma.ValidationError(
                sdk.N_("The high level must start at or above the medium level."), "high_score"
            )


def current() -> dict[str, Any]:
    """The current tenant's settings with their defaults."""
    loaded: dict[str, Any] = WarningSettings().load({})
    loaded.update({k: v for k, v in sdk.plugin_settings("warning").items() if v is not None})
    return loaded
