"""The assets plugin's settings (per tenant, exported and applied with the tenant bundle): the
days past due that bound each of the five classes (五级分类), and the provision (拨备) rate of
each class as a percentage of the principal outstanding."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import marshmallow as ma

from loandesk import sdk
from loandesk.sdk import N_

# the five classes, best first: (code, 中文, English)
CLASSES = (
    ("normal", "正常", "Normal"),
    ("special_mention", "关注", "Special mention"),
    ("substandard", "次级", "Substandard"),
    ("doubtful", "可疑", "Doubtful"),
    ("loss", "损失", "Loss"),
)
CODES = tuple(code for code, _, _ in CLASSES)
DEFAULT_LIMITS = "0, 90, 180, 360"
DEFAULT_RATES = {
    "normal": "1",
    "special_mention": "2",
    "substandard": "25",
    "doubtful": "50",
    "loss": "100",
}
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Limit:
    code: str
    highest: int | None  # the most days past due the class holds; None: every day beyond


def parse_limits(text: str) -> list[Limit]:
    """``"0, 90, 180, 360"``: the most days past due of 正常, 关注, 次级 and 可疑, rising;
    损失 holds the rest. ValueError if not."""
    try:
        bounds = [int(part.strip()) for part in str(text).split(",")]
    except ValueError:
        raise ValueError(text) from None
    if len(bounds) != 4 or bounds[0] < 0 or any(a >= b for a, b in itertools.pairwise(bounds)):
        raise ValueError(text)
    return [Limit(code, bound) for code, bound in zip(CODES, [*bounds, None], strict=True)]


def class_for(days_past_due: int, limits: list[Limit]) -> str:
    for limit in limits:
        if limit.highest is None or days_past_due <= limit.highest:
            return limit.code
    raise AssertionError("the last class has no bound")


def parse_rate(text: Any) -> Decimal:
    """A percentage from 0 to 100 with at most two decimals, as a fraction (``"25"`` → 0.25)."""
    try:
        value = Decimal(str(text).strip().rstrip("%"))
    except InvalidOperation:
        raise ValueError(text) from None
    if (
        not value.is_finite()
        or not 0 <= value <= HUNDRED
        or value != value.quantize(Decimal("0.01"))
    ):
        raise ValueError(text)
    return value / HUNDRED


def _check_limits(value: str) -> None:
    try:
        parse_limits(value)
    except ValueError:
        raise ma.ValidationError(
            N_(
                "Write four rising numbers of days past due: the most of 正常, 关注, 次级 and 可疑 "
                "(损失 holds the rest), e.g. 0, 90, 180, 360"
            )
        ) from None


def _check_rate(value: str) -> None:
    try:
        parse_rate(value)
    except ValueError:
        raise ma.ValidationError(N_("Enter a percentage from 0 to 100, e.g. 25")) from None


def _rate_field(code: str, zh: str, en: str) -> ma.fields.String:
    return ma.fields.String(
        load_default=DEFAULT_RATES[code],
        validate=_check_rate,
        metadata=sdk.setting_labels(
            f"拨备比例（{zh}，%）",
            f"Provision rate ({en}, %)",
            f"{zh}类贷款按未还本金计提拨备的百分比，默认 {DEFAULT_RATES[code]}",
            f"Percentage of the principal outstanding set aside for {en.lower()} loans, "
            f"default {DEFAULT_RATES[code]}",
        ),
    )


class AssetsSettings(ma.Schema):
    class_dpd_limits = ma.fields.String(
        load_default=DEFAULT_LIMITS,
        validate=_check_limits,
        metadata=sdk.setting_labels(
            "五级分类逾期天数上限",
            "Five-tier class limits (days past due)",
            "正常、关注、次级、可疑各类最多的逾期天数，依次递增，其余为损失。默认 0, 90, 180, 360",
            "The most days past due of normal, special mention, substandard and doubtful, "
            "rising; loss holds the rest. Default 0, 90, 180, 360",
        ),
    )
    provision_normal = _rate_field("normal", "正常", "Normal")
    provision_special_mention = _rate_field("special_mention", "关注", "Special mention")
    provision_substandard = _rate_field("substandard", "次级", "Substandard")
    provision_doubtful = _rate_field("doubtful", "可疑", "Doubtful")
    provision_loss = _rate_field("loss", "损失", "Loss")


def current() -> dict[str, Any]:
    """The current tenant's settings with their defaults."""
    loaded: dict[str, Any] = AssetsSettings().load({})
    loaded.update({k: v for k, v in sdk.plugin_settings("assets").items() if v is not None})
    return loaded


def limits() -> list[Limit]:
    return parse_limits(current()["class_dpd_limits"])


def rates() -> dict[str, Decimal]:
    values = current()
    return {code: parse_rate(values[f"provision_{code}"]) for code in CODES}


def label(code: str | None, zh: bool) -> str:
    for key, zh_label, en in CLASSES:
        if key == code:
            return zh_label if zh else en
    return code or ""
