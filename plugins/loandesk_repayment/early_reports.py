"""The early repayments dataset (提前还款统计): one row per early repayment still standing (a
reversed one counts nowhere), with its month, product, kind and recalculation, and what it
paid — and the built-in report over it. The rows join the loan, so the viewer's data scope
over loans applies to them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, join

from loandesk.sdk import BuiltinReport, Dataset, Dimension, Measure, Source, SourceColumn
from loandesk_repayment.early_models import EarlyRepayment

# A Core alias, not the ORM entity: the session's tenant criteria on an entity would land in
# the WHERE clause; the tenant is in the ON clause instead.
_ROWS = EarlyRepayment.__table__.alias("early_rows").c


def _select_from(model: Any, dialect: str) -> Any:
    return join(
        model,
        _ROWS.id.table,
        and_(
            _ROWS.tenant_id == model.tenant_id,
            _ROWS.loan_id == model.id,
            _ROWS.status == "posted",
        ),
    )


def _column(
    key: str, zh: str, en: str, kind: str, column: str | None = None, **more: Any
) -> SourceColumn:
    return SourceColumn(key, zh, en, kind, lambda d: _ROWS[column or key], **more)


SOURCE = Source(
    select_from=_select_from,
    columns=(
        _column("repaid_on", "提前还款日期", "Repaid on", "date"),
        SourceColumn("product", "产品", "Product", "text", lambda d: _ROWS.product_code),
        _column(
            "kind",
            "还款方式",
            "Kind",
            "select",
            options=(("full", "全部提前还款", "In full"), ("partial", "部分提前还款", "In part")),
        ),
        _column(
            "recalculation",
            "重算方式",
            "Recalculation",
            "select",
            options=(
                ("shorten_term", "缩短期限", "Shorten the term"),
                ("lower_installment", "减少月供", "Lower the installment"),
            ),
        ),
        # named apart from the loan's own fields (its ``principal``)
        _column("amount_paid", "还款金额", "Amount paid", "money", "amount"),
        _column("principal_repaid", "提前还本金", "Principal repaid early", "money", "principal"),
        _column("interest_charged", "计收利息", "Interest charged", "money", "interest"),
        _column("early_fee", "提前还款手续费", "Early repayment fee", "money", "fee"),
        _column("interest_waived", "减免利息", "Interest no longer charged", "money"),
    ),
)

EARLY_REPAYMENTS = Dataset(
    key="repayment.early_repayments",
    label_zh="提前还款",
    label_en="Early repayments",
    record_type="loan",
    description_zh="每笔未冲正的提前还款一行：日期、产品、全部或部分、重算方式，还款金额、提前还本金、"
    "计收利息（按日计至还款日）、手续费与不再收取的利息。",
    description_en="One row per early repayment not reversed: day, product, in full or in "
    "part, recalculation; amount paid, principal repaid early, interest charged (accrued to "
    "the day), the fee and the interest no longer charged.",
    source=SOURCE,
    dimensions=(
        Dimension("repaid_on"),
        Dimension("product"),
        Dimension("kind"),
        Dimension("recalculation"),
        Dimension("org_unit_id"),
        Dimension("owner_id"),
    ),
    measures=(
        Measure("count", "笔数", "Early repayments"),
        Measure("loans", "贷款数", "Loans", "count_distinct", "number"),
        Measure("amount", "还款金额", "Amount paid", "sum", "amount_paid"),
        Measure("principal", "提前还本金", "Principal repaid early", "sum", "principal_repaid"),
        Measure("interest", "计收利息", "Interest charged", "sum", "interest_charged"),
        Measure("fee", "提前还款手续费", "Early repayment fees", "sum", "early_fee"),
        Measure(
            "interest_waived", "减免利息", "Interest no longer charged", "sum", "interest_waived"
        ),
        Measure("full", "全部提前还款笔数", "In full", when=("kind", ("full",))),
    ),
    global_filters={"date": "repaid_on", "org_unit": "org_unit_id"},
)

BUILTIN_REPORTS = (
    BuiltinReport(
        key="repayment.early_repayments",
        name_zh="提前还款统计",
        name_en="Early repayments",
        description_zh="每月各产品全部与部分提前还款的笔数、还款金额、提前还本金与手续费。",
        description_en="Early repayments per month, product and kind: how many, the amount "
        "paid, the principal repaid early and the fees.",
        dataset="repayment.early_repayments",
        spec={
            "dimensions": [
                {"key": "repaid_on", "bucket": "month"},
                {"key": "product"},
                {"key": "kind"},
            ],
            "measures": ["count", "amount", "principal", "fee"],
        },
        chart_type="table",
        default_roles=("finance", "risk_manager"),
    ),
)
