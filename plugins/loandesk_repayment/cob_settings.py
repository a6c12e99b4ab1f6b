"""The repayment plugin's settings (per tenant): the DPD buckets close of business (cob.py)
sorts loans into."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import marshmallow as ma

from loandesk import sdk
from loandesk.sdk import N_

DEFAULT_BUCKETS = "M0:0, M1:30, M2:60, M3:90, M3+"


@dataclass(frozen=True)
class Bucket:
    name: str
    highest: int | None  # the most days past due it holds; None: every day beyond


def parse_buckets(text: str) -> list[Bucket]:
    """``"M0:0, M1:30, M2:60, M3:90, M3+"``: each bucket's name and the most days past due
    it holds, rising; the last one has no bound and holds the rest. ValueError if not."""
    buckets = []
    for raw in (part.strip() for part in str(text).split(",")):
        name, _, bound = raw.partition(":")
        name, bound = name.strip(), bound.strip()
        if not 1 <= len(name) <= 10 or not name.isprintable() or ":" in bound:
            raise ValueError(raw)
        buckets.append(Bucket(name, int(bound) if bound else None))
    names = [b.name for b in buckets]
    bounds = [-1 if b.highest is None else b.highest for b in buckets[:-1]]
    if (
        len(buckets) < 2
        or len(set(names)) != len(names)
        or buckets[-1].highest is not None
        or any(b < 0 for b in bounds)
        or any(a >= b for a, b in itertools.pairwise(bounds))
    ):
        raise ValueError(text)
    return buckets


def _check_buckets(value: str) -> None:
    try:
        parse_buckets(value)
    except ValueError:
        raise ma.ValidationError(
            N_(
                "Write each bucket as name:most days past due, rising, the last without a "
                "bound: M0:0, M1:30, M2:60, M3:90, M3+"
            )
        ) from None


class RepaymentSettings(ma.Schema):
    dpd_buckets = ma.fields.String(
        load_default=DEFAULT_BUCKETS,
        validate=_check_buckets,
        metadata=sdk.setting_labels(
            "逾期分档（DPD）",
            "DPD buckets",
            "日终批处理按逾期天数分档：名称:最多逾期天数，依次递增，最后一档不写上限。"
            "默认 M0:0, M1:30, M2:60, M3:90, M3+",
            "Close of business sorts loans by days past due: name:most days, rising, the "
            "last without a bound. Default M0:0, M1:30, M2:60, M3:90, M3+",
        ),
    )


def current() -> dict[str, Any]:
    """The current tenant's settings with their defaults."""
    loaded: dict[str, Any] = RepaymentSettings().load({})
    loaded.update({k: v for k, v in sdk.plugin_settings("repayment").items() if v is not None})
    return loaded


def buckets() -> list[Bucket]:
    return parse_buckets(current()["dpd_buckets"])
