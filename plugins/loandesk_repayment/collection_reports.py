"""Collections against what was due (应收实收对比): one row per installment of the schedule in
force (an early repayment's superseded rows count nowhere) of an active or settled loan, with
its due date, the loan's product, officer and unit, what it is due and what has been
collected of each part, and how it stands — and the built-in reports over it. The rows join
the loan, so the viewer's data scope over loans applies to them.

What is collected is what the installment's paid parts say now: a payment adds to them and
its reversal takes the same amounts off again (``payments.reverse_payment``), so a reversed
payment counts nowhere. An installment is collected on time when it became fully paid
(``paid_on``) on or before its due date; it is overdue once its due date is behind the
tenant's today and something of it is still owed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, and_, case, join, literal

from loandesk.sdk import BuiltinReport, Dataset, Dimension, Measure, Source, SourceColumn
from loandesk_repayment.checks import local_today
from loandesk_repayment.models import Installment, Loan

# A Core alias, not the ORM entity: the session's tenant criteria on an entity would land in
# the WHERE clause; the tenant is in the ON clause instead.
_ROWS = Installment.__table__.alias("collection_rows").c
LIVE_LOANS = ("active", "settled")
STANDINGS = (
    ("on_time", "按时还清", "Paid on time"),
    ("late", "逾期后还清", "Paid late"),
    ("overdue", "逾期未还清", "Overdue"),
    ("not_due", "未到期", "Not yet due"),
)


def _select_from(model: Any, dialect: str) -> Any:
    return join(
        model,
        _ROWS.id.table,
        and_(
            _ROWS.tenant_id == model.tenant_id,
            _ROWS.loan_id == model.id,
            _ROWS.superseded.is_(False),
            model.status.in_(LIVE_LOANS),
        ),
    )


def _total(kind: str) -> Any:
    """The installment's four parts ``due`` or ``paid`` added up."""
    return (
        _ROWS[f"principal_{kind}"]
        + _ROWS[f"interest_{kind}"]
        + _ROWS[f"fees_{kind}"]
        + _ROWS[f"penalty_{kind}"]
    )


def _standing(dialect: str) -> Any:
    """How the installment stands on the tenant's today (read when the report runs)."""
    today = literal(local_today(), Date)
    return case(
        (_ROWS.paid_on.is_not(None) & (_ROWS.paid_on <= _ROWS.due_date), "on_time"),
        (_ROWS.paid_on.is_not(None), "late"),
        (_ROWS.due_date < today, "overdue"),
        else_="not_due",
    )


def _money(key: str, zh: str, en: str, column: str) -> SourceColumn:
    return SourceColumn(key, zh, en, "money", lambda d: _ROWS[column])


# the parts of an installment, as staff name them (the funder report's ``part`` too)
PART_LABELS = (
    ("principal", "本金", "Principal"),
    ("interest", "利息", "Interest"),
    ("fees", "费用", "Fees"),
    ("penalty", "罚息", "Penalty"),
)

SOURCE = Source(
    select_from=_select_from,
    columns=(
        SourceColumn("due_date", "应还日期", "Due date", "date", lambda d: _ROWS.due_date),
        SourceColumn(
            "product", "产品", "Product", "text", lambda d: Loan.product_terms["code"].as_string()
        ),
        SourceColumn("standing", "还款状态", "Standing", "select", _standing, options=STANDINGS),
        *(
            _money(f"{part}_due", f"应收{zh}", f"{en} due", f"{part}_due")
            for part, zh, en in PART_LABELS
        ),
        *(
            _money(f"{part}_collected", f"实收{zh}", f"{en} collected", f"{part}_paid")
            for part, zh, en in PART_LABELS
        ),
        SourceColumn("due_total", "应收金额", "Amount due", "money", lambda d: _total("due")),
        SourceColumn(
            "collected_total", "实收金额", "Amount collected", "money", lambda d: _total("paid")
        ),
        SourceColumn(
            "outstanding",
            "未还金额",
            "Outstanding",
            "money",
            lambda d: _total("due") - _total("paid"),
        ),
    ),
)

COLLECTIONS = Dataset(
    key="repayment.collections",
    label_zh="应收实收",
    label_en="Collections vs due",
    record_type="loan",
    description_zh="还款中和已结清贷款的现行还款计划每期一行（提前还款替换掉的期次不计）：应还日期、产品、"
    "客户经理与部门，各部分应收与实收（冲正的还款不计），未还金额，以及按时还清、逾期后还清、"
    "逾期未还清或未到期。",
    description_en="One row per installment in force of an active or settled loan (those an "
    "early repayment replaced count nowhere): due date, product, officer and unit, each part "
    "due and collected (reversed payments count nowhere), what is outstanding, and whether it "
    "was paid on time, paid late, is overdue or not yet due.",
    source=SOURCE,
    dimensions=(
        Dimension("due_date"),
        Dimension("product"),
        Dimension("standing"),
        Dimension("org_unit_id"),
        Dimension("owner_id"),
    ),
    measures=(
        Measure("installments", "期数", "Installments"),
        Measure("loans", "贷款数", "Loans", "count_distinct", "number"),
        Measure("due", "应收金额", "Amount due", "sum", "due_total"),
        Measure("collected", "实收金额", "Amount collected", "sum", "collected_total"),
        Measure(
            "collection_rate",
            "回收率",
            "Collection rate",
            "ratio",
            numerator="collected",
            denominator="due",
        ),
        Measure(
            "collected_on_time",
            "按时实收金额",
            "Collected on time",
            "sum",
            "collected_total",
            when=("standing", ("on_time",)),
        ),
        Measure(
            "on_time_rate",
            "按时回收率",
            "On-time collection rate",
            "ratio",
            numerator="collected_on_time",
            denominator="due",
        ),
        Measure("outstanding", "未还金额", "Outstanding", "sum", "outstanding"),
        Measure(
            "overdue_outstanding",
            "逾期未还金额",
            "Overdue and unpaid",
            "sum",
            "outstanding",
            when=("standing", ("overdue",)),
        ),
        Measure(
            "overdue_installments",
            "逾期未还期数",
            "Overdue installments",
            when=("standing", ("overdue",)),
        ),
        *(
            Measure(f"{part}_due", f"应收{zh}", f"{en} due", "sum", f"{part}_due")
            for part, zh, en in PART_LABELS
        ),
        *(
            Measure(
                f"{part}_collected",
                f"实收{zh}",
                f"{en} collected",
                "sum",
                f"{part}_collected",
            )
            for part, zh, en in PART_LABELS
        ),
    ),
    # list filters read the loan's own fields: a dashboard's date range cannot narrow by
    # the due date (a source column), so only the unit filter is offered
    global_filters={"org_unit": "org_unit_id"},
)

_MEASURES = [
    "due",
    "collected",
    "collection_rate",
    "collected_on_time",
    "on_time_rate",
    "outstanding",
    "overdue_outstanding",
]

BUILTIN_REPORTS = (
    BuiltinReport(
        key="repayment.collections_by_month",
        name_zh="应收实收对比",
        name_en="Collections vs due",
        description_zh="按应还月份统计应收金额、实收金额、回收率、按时实收与逾期未还金额。",
        description_en="Per due month: the amount due, collected, the collection rate, what "
        "was collected on time and what is overdue and unpaid.",
        dataset="repayment.collections",
        spec={
            "dimensions": [{"key": "due_date", "bucket": "month"}],
            "measures": _MEASURES,
            "sort": "due_date",
        },
        chart_type="table",
        default_roles=("finance", "risk_manager"),
    ),
    BuiltinReport(
        key="repayment.collections_by_product",
        name_zh="应收实收对比（按产品）",
        name_en="Collections vs due by product",
        description_zh="按产品统计应收金额、实收金额、回收率、按时实收与逾期未还金额。",
        description_en="Per product: the amount due, collected, the collection rate, what was "
        "collected on time and what is overdue and unpaid.",
        dataset="repayment.collections",
        spec={"dimensions": [{"key": "product"}], "measures": _MEASURES, "sort": "product"},
        chart_type="table",
        default_roles=("finance", "risk_manager"),
    ),
)
