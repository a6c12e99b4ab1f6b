"""The disbursed amount (放款金额): one row per funder's part of an order (联合贷 70/30: two
rows), so that amounts group by month paid, product and funder, and each funder's total is
what it actually put in. Only paid orders count. The viewer's data scope applies to the
*order*; the payee's card is never a column."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, join

from loandesk.sdk import BuiltinReport, Dataset, Dimension, Measure, Source, SourceColumn
from loandesk_disbursement.models import Order, OrderShare

# A Core table, not the ORM entity: the session's tenant criteria stay off the join (the
# tenant is in the ON clause).
_SHARE = OrderShare.__table__.alias("disbursed_share").c


def _select_from(model: Any, dialect: str) -> Any:
    return join(
        model,
        _SHARE.id.table,
        and_(_SHARE.tenant_id == model.tenant_id, _SHARE.order_id == model.id),
    )


SHARES = Source(
    select_from=_select_from,
    columns=(
        SourceColumn("funder", "资金方", "Funder", "text", lambda d: _SHARE.funder_name),
        SourceColumn("product", "贷款产品", "Product", "text", lambda d: Order.product_name),
        SourceColumn(
            "funder_amount", "出资金额", "Funder's amount", "money", lambda d: _SHARE.amount
        ),
    ),
)

DISBURSED = Dataset(
    key="disbursement.disbursed",
    label_zh="放款明细",
    label_en="Disbursements",
    record_type="disbursement",
    description_zh="每张放款单的每个资金方出资一行（联合贷按份额拆分）；放款金额只计已放款的单据。",
    description_en="One row per funder's part of a disbursement order (co-lending split by "
    "share); the disbursed amount counts paid orders only.",
    source=SHARES,
    dimensions=(
        Dimension("paid_on"),
        Dimension("product"),
        Dimension("funder"),
        Dimension("status"),
        Dimension("org_unit_id"),
    ),
    measures=(
        Measure(
            "disbursed_amount",
            "放款金额",
            "Disbursed amount",
            "sum",
            "funder_amount",
            when=("status", ("paid",)),
        ),
        Measure(
            "orders", "放款笔数", "Orders", "count_distinct", "number", when=("status", ("paid",))
        ),
    ),
    global_filters={"date": "paid_on", "org_unit": "org_unit_id"},
)

DISBURSED_AMOUNT = BuiltinReport(
    key="disbursement.disbursed_amount",
    name_zh="放款金额",
    name_en="Disbursed amount",
    description_zh="按月份、贷款产品和资金方统计已放款金额（联合贷按出资份额拆分）。",
    description_en="Amount paid out by month, product and funder (co-lending split by share).",
    dataset="disbursement.disbursed",
    spec={
        "dimensions": [
            {"key": "paid_on", "bucket": "month"},
            {"key": "product"},
            {"key": "funder"},
        ],
        "measures": ["disbursed_amount", "orders"],
        "filters": ["status:eq:paid"],
        "sort": "paid_on",
    },
    chart_type="table",
    default_roles=("finance",),
)
