"""What a contract template sees: plain values of the firm, the borrower, the loan, its
schedule and its product's terms (``values_for``), or made-up ones for the editor's
preview (``sample_values``). The contract is a Chinese legal document: its labels are
Chinese whatever the reader's interface language."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from loandesk.sdk import LoanSummary, finance

METHODS = {
    "equal_installment": "等额本息",
    "equal_principal": "等额本金",
    "interest_first": "先息后本",
    "flat": "等本等息",
    "single_payment": "一次性还本付息",
}
FREQUENCIES = {
    "monthly": "按月",
    "biweekly": "每两周",
    "weekly": "按周",
    "semimonthly": "每半月",
    "quarterly": "按季",
    "single": "到期一次",
}
FEE_KINDS = {"upfront": "一次性收取", "per_installment": "每期收取"}
PENALTY_BASES = {
    "overdue_principal": "逾期本金",
    "overdue_principal_and_interest": "逾期本金和利息",
}


def firm_values(letterhead: Any, tenant_name: str, logo: bytes | None, logo_type: str) -> dict:
    logo_uri = ""
    if logo:
        logo_uri = f"data:{logo_type};base64,{base64.b64encode(logo).decode()}"
    return {
        "name": (letterhead.firm_name if letterhead else "") or tenant_name,
        "address": letterhead.address if letterhead else "",
        "phone": letterhead.phone if letterhead else "",
        "logo": logo_uri,
    }


def _fees(product: finance.ProductTerms) -> list[dict[str, Any]]:
    return [
        {
            "code": fee.code,
            "kind": FEE_KINDS.get(str(fee.kind), str(fee.kind)),
            "percent": fee.basis == finance.FeeBasis.PERCENT,
            "value": fee.value,
            "deducted": bool(getattr(fee, "deducted", False)),
        }
        for fee in product.fees
    ]


def loan_values(
    product: finance.ProductTerms, terms: finance.Terms, *, number: str
) -> dict[str, Any]:
    """The loan, its schedule and its product's rules as the template names them."""
    schedule = finance.build_schedule(terms)
    installments = schedule.installments
    penalty = product.penalty
    early = product.early_repayment
    return {
        "loan": {
            "number": number,
            "product_name": product.name,
            "principal": terms.principal,
            "periods": terms.periods,
            "method": METHODS.get(str(terms.method), str(terms.method)),
            "frequency": FREQUENCIES.get(str(terms.frequency), str(terms.frequency)),
            "nominal_rate": terms.annual_rate,
            "annual_rate_irr": schedule.annual_rate_irr,
            "apr": schedule.apr,
            "start_date": terms.start_date,
            "first_due": installments[0].due_date if installments else None,
            "last_due": installments[-1].due_date if installments else None,
            "total_interest": schedule.total_interest,
            "total_fees": schedule.total_fees,
            "upfront_fees": schedule.upfront_fees,
            "total": schedule.total,
            "disbursed": schedule.disbursed,
        },
        "schedule": [
            {
                "number": i.number,
                "due_date": i.due_date,
                "principal": i.principal,
                "interest": i.interest,
                "fees": i.fees,
                "total": i.total,
                "balance": i.balance,
            }
            for i in installments
        ],
        "fees": _fees(product),
        "penalty": (
            {
                "annual_rate": penalty.annual_rate,
                "daily_rate": penalty.annual_rate / 360,
                "base": PENALTY_BASES.get(str(penalty.base), str(penalty.base)),
                "grace_days": penalty.grace_days,
            }
            if penalty
            else None
        ),
        "early_repayment": {
            "allowed": early.allowed,
            "fee_percent": early.fee_percent,
            "min_periods_paid": early.min_periods_paid,
        },
    }


def values_for(
    loan: LoanSummary,
    *,
    contract_number: str,
    borrower_name: str,
    id_number_masked: str,
    mobile_masked: str,
    firm: dict[str, Any],
    today: dt.date,
) -> dict[str, Any]:
    values = loan_values(loan.product_terms, loan.terms, number=loan.number)
    return {
        **values,
        "firm": firm,
        "contract": {"number": contract_number, "date": today},
        "borrower": {
            "name": borrower_name,
            "id_number": id_number_masked,
            "mobile": mobile_masked,
        },
    }


def sample_values(firm: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """A made-up loan for the template editor's preview: 12,000.00 over 12 months."""
    product = finance.ProductTerms(
        product_id=uuid.UUID(int=0),
        version=1,
        code="DEMO",
        name="工薪消费贷（示例）",
        min_amount=Decimal("1000.00"),
        max_amount=Decimal("200000.00"),
        min_periods=3,
        max_periods=36,
        annual_rate=Decimal("0.12"),
        frequency=finance.Frequency.MONTHLY,
        method=finance.Method.EQUAL_INSTALLMENT,
        fees=(
            finance.Fee(
                "service_fee",
                finance.FeeKind.PER_INSTALLMENT,
                finance.FeeBasis.FIXED,
                Decimal("10.00"),
            ),
        ),
        penalty=finance.Penalty(Decimal("0.18"), grace_days=3),
    )
    terms = product.terms_for(Decimal("12000.00"), 12, today)
    return {
        **loan_values(product, terms, number="DK2026000001"),
        "firm": firm,
        "contract": {"number": "HT2026000001", "date": today},
        "borrower": {"name": "王玥堃", "id_number": "110***********1234", "mobile": "138****5678"},
    }
