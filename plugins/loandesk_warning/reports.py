"""The ``warning.watchlist`` dataset: one row per loan early warning has flagged (those still
on the list and those cleared), under the viewer's data scope: how many by level, product,
unit and month flagged, and their average score."""

from __future__ import annotations

from loandesk.sdk import Dataset, Dimension, Measure

WATCHLIST = Dataset(
    key="warning.watchlist",
    label_zh="预警名单",
    label_en="Watch list",
    record_type="warning",
    description_zh="每笔进入过预警名单的贷款一行（预警中与已解除）。",
    description_en="One row per loan early warning flagged (still flagged or cleared).",
    dimensions=(
        Dimension("level"),
        Dimension("status"),
        Dimension("product_code", "产品代码", "Product code", column=lambda m: m.product_code),
        Dimension("first_flagged_at"),
        Dimension("org_unit_id"),
        Dimension("owner_id"),
    ),
    measures=(
        Measure("entries", "预警笔数", "Loans", "count"),
        Measure("flagged", "预警中笔数", "Flagged", "count", when=("status", ("flagged",))),
        Measure("average_score", "平均预警分", "Average score", "avg", "score"),
    ),
    global_filters={"date": "first_flagged_at", "org_unit": "org_unit_id"},
)
