"""Repayments by funder (资金方回款): what each funder got back of its loans, read from the ledger
(分户账) — one row per ledger line by which a payment, or its reversal, took a part off a
receivable for one funder — and the built-in report over it. The rows join the loan, so the
viewer's data scope over loans applies to them.

A payment's lines credit ``receivable_<part>`` for each funder's share of each part it paid
(``ledger.split``: each share rounded down to the cent, the cents left to the largest, so
the funders' amounts sum to the part exactly); the money it paid from the loan's credit
balance on an early repayment too. Its reversal debits the same lines (event ``reversal``,
booked the day it is reversed), so over any period holding both a reversed payment is
nothing. Money kept as credit (溢缴款) is nobody's share until it pays an installment, and
the early repayment's rescheduling lines are not money received: neither is a row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, join

from loandesk.sdk import BuiltinReport, Dataset, Dimension, Measure, Source, SourceColumn
from loandesk_repayment.collection_reports import PART_LABELS
from loandesk_repayment.ledger import RECEIVABLE
from loandesk_repayment.models import Funder, LedgerEntry, Loan, Payment

# Core aliases, not the ORM entities: the session's tenant criteria on an entity would land
# in the WHERE clause; the tenant is in each ON clause instead.
_LINE = LedgerEntry.__table__.alias("funder_lines").c
_FUNDER = Funder.__table__.alias("funder_funders").c
_PAYMENT = Payment.__table__.alias("funder_payments").c
EVENTS = ("payment", "reversal")


def _select_from(model: Any, dialect: str) -> Any:
    lines = join(
        model,
        _LINE.id.table,
        and_(
            _LINE.tenant_id == model.tenant_id,
            _LINE.loan_id == model.id,
            _LINE.event.in_(EVENTS),
            _LINE.account.in_(list(RECEIVABLE.values())),
            _LINE.funder_id.is_not(None),
        ),
    )
    funders = join(
        lines,
        _FUNDER.id.table,
        and_(_FUNDER.tenant_id == _LINE.tenant_id, _FUNDER.id == _LINE.funder_id),
    )
    return join(
        funders,
        _PAYMENT.id.table,
        and_(_PAYMENT.tenant_id == _LINE.tenant_id, _PAYMENT.id == _LINE.payment_id),
    )


def _part(dialect: str) -> Any:
    return case(*((_LINE.account == RECEIVABLE[p], p) for p, _, _ in PART_LABELS))


SOURCE = Source(
    select_from=_select_from,
    columns=(
        SourceColumn("booked_on", "记账日期", "Booked on", "date", lambda d: _LINE.booked_on),
        SourceColumn(
            "received_on", "还款日期", "Received on", "date", lambda d: _PAYMENT.received_on
        ),
        SourceColumn("funder", "资金方", "Funder", "text", lambda d: _FUNDER.name),
        SourceColumn("funder_code", "资金方代码", "Funder code", "text", lambda d: _FUNDER.code),
        SourceColumn(
            "product", "产品", "Product", "text", lambda d: Loan.product_terms["code"].as_string()
        ),
        SourceColumn("part", "还款科目", "Part", "select", _part, options=PART_LABELS),
        SourceColumn(
            "entry",
            "分录类型",
            "Entry",
            "select",
            lambda d: _LINE.event,
            options=(("payment", "还款", "Payment"), ("reversal", "冲正", "Reversal")),
        ),
        # a receivable's credit is money received; a reversal's debit takes it back
        SourceColumn(
            "amount_repaid",
            "回款金额",
            "Amount repaid",
            "money",
            lambda d: _LINE.credit - _LINE.debit,
        ),
    ),
)

FUNDER_REPAYMENTS = Dataset(
    key="repayment.funder_repayments",
    label_zh="资金方回款",
    label_en="Repayments by funder",
    record_type="loan",
    description_zh="每笔还款按资金方份额拆分到本金、利息、费用、罚息的分户账分录一行（联合贷按份额，"
    "各资金方之和等于还款分配的金额）；冲正在冲正当日记为负数，与原还款相抵。",
    description_en="One row per ledger line of a repayment split by funder share into "
    "principal, interest, fees and penalty (co-lending by share; the funders' amounts sum to "
    "what the payment paid); a reversal is a negative line on the day it is reversed, "
    "netting out the payment.",
    source=SOURCE,
    dimensions=(
        Dimension("booked_on"),
        Dimension("received_on"),
        Dimension("funder"),
        Dimension("funder_code"),
        Dimension("product"),
        Dimension("part"),
        Dimension("entry"),
        Dimension("org_unit_id"),
        Dimension("owner_id"),
    ),
    measures=(
        Measure("amount", "回款合计", "Total repaid", "sum", "amount_repaid"),
        *(
            Measure(key, zh, en, "sum", "amount_repaid", when=("part", (key,)))
            for key, zh, en in PART_LABELS
        ),
        Measure("loans", "贷款数", "Loans", "count_distinct", "number"),
    ),
    # list filters read the loan's own fields: a dashboard's date range cannot narrow by
    # the booked date (a source column), so only the unit filter is offered
    global_filters={"org_unit": "org_unit_id"},
)

BUILTIN_REPORTS = (
    BuiltinReport(
        key="repayment.funder_repayments",
        name_zh="资金方回款",
        name_en="Repayments by funder",
        description_zh="按记账月份和资金方统计回款的本金、利息、费用、罚息与合计（联合贷按份额拆分，"
        "冲正在冲正当月冲减）。",
        description_en="Per booking month and funder: the principal, interest, fees and "
        "penalty repaid and their total (co-lending split by share; a reversal is taken off "
        "in the month it is booked).",
        dataset="repayment.funder_repayments",
        spec={
            "dimensions": [{"key": "booked_on", "bucket": "month"}, {"key": "funder"}],
            "measures": ["principal", "interest", "fees", "penalty", "amount"],
            "sort": "booked_on",
        },
        chart_type="table",
        default_roles=("finance",),
    ),
)
