"""Roll rates (迁徙率): of the loans in a bucket at the end of month m, how many (and how much
principal) are in a worse bucket at the end of m+1, how many are cured (current, M0).

One row per month-end snapshot (``MonthEnd``: a loan in a month) whose next month has been
seen — the tenant has some row for m+1, so a month still running counts nowhere yet —
joined to the same loan's row of m+1. A loan with no row for m+1 was not reported in
arrears then: it counts as current (M0). The rows join the loan's case (one per loan, and
every loan that was behind has one), so the viewer's data scope over cases applies, as in
the performance dataset. How a loan moved compares DPD, not bucket names (they are a
product setting): a worse bucket has more days past due."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, exists, func, join, or_, outerjoin

from loandesk.sdk import BuiltinReport, Dataset, Dimension, Measure, Source, SourceColumn
from loandesk_collections.models import MonthEnd

# Core aliases, not the ORM entity: the session's tenant criteria would land in WHERE
_ROWS = MonthEnd.__table__.alias("roll_rows").c
_NEXT = MonthEnd.__table__.alias("roll_next").c
_SEEN = MonthEnd.__table__.alias("roll_seen").c
MOVEMENTS = (
    ("forward", "迁入更差阶段", "Rolled forward"),
    ("stayed", "阶段不变", "Stayed"),
    ("back", "好转仍逾期", "Rolled back"),
    ("cured", "转为正常", "Cured"),
)


def _select_from(model: Any, dialect: str) -> Any:
    seen = (
        exists()
        .where(_SEEN.tenant_id == _ROWS.tenant_id, _SEEN.month == _ROWS.next_month)
        .correlate(_ROWS.id.table)
    )
    rows = join(
        model,
        _ROWS.id.table,
        and_(_ROWS.tenant_id == model.tenant_id, _ROWS.loan_id == model.loan_id, seen),
    )
    return outerjoin(
        rows,
        _NEXT.id.table,
        and_(
            _NEXT.tenant_id == _ROWS.tenant_id,
            _NEXT.loan_id == _ROWS.loan_id,
            _NEXT.month == _ROWS.next_month,
        ),
    )


def _movement(dialect: str) -> Any:
    """How the loan moved from the end of m to the end of m+1 (no row for m+1: current)."""
    then = func.coalesce(_NEXT.days_past_due, 0)
    return case(
        (and_(then == 0, _ROWS.days_past_due > 0), "cured"),
        (or_(then == 0, _NEXT.bucket == _ROWS.bucket), "stayed"),
        (then > _ROWS.days_past_due, "forward"),
        else_="back",
    )


def _column(key: str, zh: str, en: str, kind: str, name: str) -> SourceColumn:
    return SourceColumn(key, zh, en, kind, lambda d: _ROWS[name])


SOURCE = Source(
    select_from=_select_from,
    columns=(
        _column("month", "月份", "Month", "date", "month"),
        _column("from_bucket", "月末逾期阶段", "Bucket at month end", "text", "bucket"),
        SourceColumn(
            "to_bucket", "次月末逾期阶段", "Bucket a month later", "text", lambda d: _NEXT.bucket
        ),
        SourceColumn("movement", "迁徙方向", "Movement", "select", _movement, options=MOVEMENTS),
        _column("product", "产品", "Product", "text", "product_code"),
        _column("unit", "月末所属部门", "Unit at month end", "org_unit", "org_unit_id"),
        _column("month_end_principal", "月末剩余本金", "Principal at month end", "money",
                "principal_outstanding"),
        SourceColumn(
            "next_principal",
            "次月末剩余本金",
            "Principal a month later",
            "money",
            lambda d: func.coalesce(_NEXT.principal_outstanding, 0),
        ),
    ),
)  # fmt: skip

ROLL_RATES = Dataset(
    key="collections.roll_rates",
    label_zh="迁徙率",
    label_en="Roll rates",
    record_type="collection_case",
    description_zh="每笔贷款每个月末一行（逾期阶段、逾期天数、剩余本金），与次月末对比：迁入更差阶段、阶段不变、"
    "好转仍逾期或转为正常；按月份、月末逾期阶段、产品与部门统计笔数与本金迁徙率。从未逾期的贷款不计。",
    description_en="One row per loan and month end (bucket, DPD, principal outstanding), "
    "compared with the next month end: rolled forward, stayed, rolled back or cured; loans "
    "and principal roll rates by month, bucket, product and unit. Loans never behind count "
    "nowhere.",
    source=SOURCE,
    dimensions=(
        Dimension("month"),
        Dimension("from_bucket"),
        Dimension("to_bucket"),
        Dimension("movement"),
        Dimension("product"),
        Dimension("unit"),
    ),
    measures=(
        Measure("loans", "贷款笔数", "Loans"),
        Measure("balance", "月末剩余本金", "Principal at month end", "sum",
                "month_end_principal"),
        Measure("rolled_forward", "迁入更差阶段笔数", "Rolled forward",
                when=("movement", ("forward",))),
        Measure("rolled_balance", "迁入更差阶段本金", "Principal rolled forward", "sum",
                "next_principal", when=("movement", ("forward",))),
        Measure("cured", "转为正常笔数", "Cured", when=("movement", ("cured",))),
        Measure("roll_rate", "迁徙率（笔数）", "Roll rate (loans)", "ratio",
                numerator="rolled_forward", denominator="loans"),
        Measure("balance_roll_rate", "迁徙率（本金）", "Roll rate (principal)", "ratio",
                numerator="rolled_balance", denominator="balance"),
        Measure("cure_rate", "转正常率", "Cure rate", "ratio", numerator="cured",
                denominator="loans"),
    ),
    global_filters={"org_unit": "org_unit_id"},
)  # fmt: skip

BUILTIN_REPORTS = (
    BuiltinReport(
        key="collections.roll_rates_by_month",
        name_zh="迁徙率",
        name_en="Roll rates",
        description_zh="按月份与月末逾期阶段：月末笔数与剩余本金，次月末迁入更差阶段的笔数与本金，转为正常笔数，"
        "笔数迁徙率、本金迁徙率与转正常率。",
        description_en="Per month and bucket at its end: loans and principal, how many (and "
        "how much principal) were in a worse bucket a month later, how many were cured, and "
        "the roll rates by loans and by principal and the cure rate.",
        dataset="collections.roll_rates",
        spec={
            "dimensions": [{"key": "month", "bucket": "month"}, {"key": "from_bucket"}],
            "measures": [
                "loans",
                "balance",
                "rolled_forward",
                "rolled_balance",
                "roll_rate",
                "balance_roll_rate",
                "cured",
                "cure_rate",
            ],
            "sort": "month",
        },
        chart_type="table",
        default_roles=("post_loan_admin", "risk_manager"),
    ),
)
