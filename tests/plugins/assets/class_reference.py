"""A slow reference of the five-tier class (五级分类), loan by loan in plain Python, written from
docs/assets.md and not from the plugin's code: each loan's days past due (from the repayment
tests' close-of-business reference, ``cob_reference``) sorted by the tenant's limits, unless a
risk manager's override stands."""

from __future__ import annotations

import uuid

NAMES = ("normal", "special_mention", "substandard", "doubtful", "loss")


def class_by_days(days_past_due: int, limits: tuple[int, int, int, int]) -> str:
    """正常 up to limits[0] days, 关注 up to limits[1], 次级 up to limits[2], 可疑 up to
    limits[3], 损失 beyond."""
    for name, highest in zip(NAMES, limits, strict=False):
        if days_past_due <= highest:
            return name
    return "loss"


class ClassReference:
    def __init__(self, limits: tuple[int, int, int, int] = (0, 90, 180, 360)) -> None:
        self.limits = limits
        self.overrides: dict[uuid.UUID, str] = {}

    def expected(self, days_past_due: dict[uuid.UUID, int]) -> dict[uuid.UUID, str]:
        return {
            loan_id: self.overrides.get(loan_id) or class_by_days(dpd, self.limits)
            for loan_id, dpd in days_past_due.items()
        }
