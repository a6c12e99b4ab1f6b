"""Annualised rates of a schedule's cash flows: the IRR-based annual rate Chinese regulators
require loan pricing to be shown in (年化利率, 中国人民银行公告〔2021〕第3号) and the APR of US
Regulation Z Appendix J (actuarial method). ``Decimal`` throughout.

SKELETON: the finance engineer fills the bodies.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal


def periodic_irr(amount_out: Decimal, payments: list[Decimal]) -> Decimal:
    """The rate per period at which ``payments`` (one per equal period, the first one period
    after the money went out) are worth ``amount_out``."""
    raise NotImplementedError


def annual_rate_irr(schedule: object) -> Decimal:
    """The schedule's IRR-based annual rate (fraction), every fee included."""
    raise NotImplementedError


def apr(
    amount_financed: Decimal,
    payments: list[tuple[dt.date, Decimal]],
    advance_date: dt.date,
    unit_periods_per_year: int,
) -> Decimal:
    """Regulation Z Appendix J APR (fraction) of ``payments`` for ``amount_financed``."""
    raise NotImplementedError
