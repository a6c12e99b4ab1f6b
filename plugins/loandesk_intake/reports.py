"""The applications dataset (借款申请) reports are made of: by status, unit, credit officer,
created and submitted dates; counts, amounts, terms and the approval rate."""

from __future__ import annotations

from loandesk.sdk import Dataset, Dimension, Measure

DECIDED = ("approved", "rejected")

APPLICATIONS = Dataset(
    key="intake.applications",
    label_zh="借款申请",
    label_en="Applications",
    record_type="application",
    description_zh="每笔借款申请一行；审批通过率 = 已批准 / (已批准 + 已拒绝)。",
    description_en="One row per loan application; approval rate = approved / "
    "(approved + rejected).",
    dimensions=(
        Dimension("status"),
        Dimension("org_unit_id"),
        Dimension("owner_id"),
        Dimension("created_at"),
        Dimension("submitted_at"),
        Dimension("term_months"),
    ),
    measures=(
        Measure("count", "申请笔数", "Applications"),
        Measure("customers", "客户数", "Customers", "count_distinct", "customer_id"),
        Measure("amount_sum", "申请金额合计", "Total amount", "sum", "amount"),
        Measure("amount_avg", "平均申请金额", "Average amount", "avg", "amount"),
        Measure("amount_min", "最小申请金额", "Smallest amount", "min", "amount"),
        Measure("amount_max", "最大申请金额", "Largest amount", "max", "amount"),
        Measure("term_avg", "平均期限（月）", "Average term (months)", "avg", "term_months"),
        Measure("term_min", "最短期限（月）", "Shortest term (months)", "min", "term_months"),
        Measure("term_max", "最长期限（月）", "Longest term (months)", "max", "term_months"),
        Measure("approved", "已批准笔数", "Approved", "count", when=("status", ("approved",))),
        Measure("decided", "已决笔数", "Decided", "count", when=("status", DECIDED)),
        Measure(
            "approved_amount",
            "已批准金额",
            "Approved amount",
            "sum",
            "amount",
            when=("status", ("approved",)),
        ),
        Measure(
            "approval_rate",
            "审批通过率",
            "Approval rate",
            "ratio",
            numerator="approved",
            denominator="decided",
        ),
    ),
    # a dashboard's date range and org unit narrow these (no product nor channel yet)
    global_filters={"date": "created_at", "org_unit": "org_unit_id"},
)
