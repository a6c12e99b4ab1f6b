"""The customers dataset (客户) reports are made of: by status, unit, credit officer and
the date a customer was added; counts and monthly income."""

from __future__ import annotations

from loandesk.sdk import Dataset, Dimension, Measure

CUSTOMERS = Dataset(
    key="customers.customers",
    label_zh="客户",
    label_en="Customers",
    record_type="customer",
    description_zh="每位客户一行。",
    description_en="One row per customer.",
    dimensions=(
        Dimension("status"),
        Dimension("org_unit_id"),
        Dimension("owner_id"),
        Dimension("created_at"),
    ),
    measures=(
        Measure("count", "客户数", "Customers"),
        Measure("income_sum", "月收入合计", "Total monthly income", "sum", "monthly_income"),
        Measure("income_avg", "平均月收入", "Average monthly income", "avg", "monthly_income"),
        Measure("income_min", "最低月收入", "Lowest monthly income", "min", "monthly_income"),
        Measure("income_max", "最高月收入", "Highest monthly income", "max", "monthly_income"),
    ),
    # a dashboard's date range and org unit narrow these (no product nor channel yet)
    global_filters={"date": "created_at", "org_unit": "org_unit_id"},
)
