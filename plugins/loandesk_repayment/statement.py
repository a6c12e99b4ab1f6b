"""What the API and the pages show of a loan: the loan with its funders and installments, a
payment with its allocations, and the statement of account (对账单). Plain dicts, no Flask."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_repayment import funders, loans, payments
from loandesk_repayment.models import (
    PARTS,
    SHARE_UNIT,
    Installment,
    Loan,
    Payment,
)

ZERO = Decimal("0.00")


def outstanding(installments: list[Installment]) -> dict[str, Decimal]:
    """What is still owed, by part and in all."""
    owed = {part: sum((i.outstanding(part) for i in installments), ZERO) for part in PARTS}
    return {**owed, "total": sum(owed.values(), ZERO)}


def present_loan(
    session: Session, loan: Loan, *, full: bool = True, access: sdk.RecordAccess | None = None
) -> dict[str, Any]:
    """The loan's built-in values, its funders and outstanding amounts (with ``full``, its
    terms and installments too), and the tenant's own fields ``access`` lets its user see,
    under their keys."""
    installments = loans.installments_of(session, loan)
    shown: dict[str, Any] = {
        column: getattr(loan, column)
        for column in (
            "id",
            "number",
            "customer_id",
            "application_id",
            "product_id",
            "product_version",
            "principal",
            "periods",
            "status",
            "disbursed_on",
            "settled_on",
            "annual_rate_irr",
            "credit_balance",
            "cob_date",
            "days_past_due",
            "bucket",
            "overdue_principal",
            "overdue_amount",
        )
    }
    shown["outstanding"] = {k: f"{v:.2f}" for k, v in outstanding(installments).items()}
    shown["funders"] = [
        {
            "funder_id": funder.id,
            "code": funder.code,
            "name": funder.name,
            "kind": funder.kind,
            "share": str((Decimal(share) / SHARE_UNIT).normalize()),
        }
        for funder, share in funders.funders_of(session, loan)
    ]
    if access is not None:
        custom = [spec for spec in access.visible_fields() if spec.custom]
        if custom:
            shown.update(access.present(loan, sdk.keyring(), fields=custom, plain=True))
    shown["owner_id"], shown["org_unit_id"] = loan.owner_id, loan.org_unit_id
    if full:
        shown["terms"] = loan.terms
        shown["product_terms"] = loan.product_terms
        shown["installments"] = installments
    return shown


def present_payment(session: Session, payment: Payment) -> dict[str, Any]:
    numbers: dict[Any, int] = dict(
        session.execute(
            select(Installment.id, Installment.number).where(Installment.loan_id == payment.loan_id)
        ).all()
    )
    shown = {
        column: getattr(payment, column)
        for column in (
            "id",
            "loan_id",
            "sequence",
            "amount",
            "to_credit",
            "received_on",
            "source",
            "reference",
            "status",
            "posted_at",
            "reversed_at",
            "reversal_reason",
        )
    }
    shown["allocations"] = [
        {
            "installment_id": row.installment_id,
            "installment_number": numbers.get(row.installment_id),
            "part": row.part,
            "amount": row.amount,
            "reversal": row.reversal,
        }
        for row in payments.allocations_of(session, payment)
    ]
    return shown


def statement(session: Session, loan: Loan) -> dict[str, Any]:
    """The statement of account: what was paid out and is to be repaid (opening), then in
    date order each installment falling due, each payment and each reversal with the
    balance due after it (negative: paid ahead, held as credit), and what is owed now."""
    installments = loans.installments_of(session, loan)
    zone = ZoneInfo(sdk.current().timezone)
    events: list[tuple[dt.date, int, str, str, Decimal, Decimal]] = []
    for i in installments:
        due = sum((i.due(p) for p in PARTS), ZERO)
        events.append((i.due_date, 0, "installment", f"#{i.number}", due, ZERO))
    for p in payments.payments_of(session, loan):
        label = f"#{p.sequence}" + (f" {p.reference}" if p.reference else "")
        events.append((p.received_on, 1, "payment", label, ZERO, p.amount))
        if p.reversed_at is not None:
            day = p.reversed_at.astimezone(zone).date()
            events.append(
                (day, 2, "reversal", f"#{p.sequence} {p.reversal_reason}", ZERO, -p.amount)
            )
    events.sort(key=lambda e: (e[0], e[1]))
    balance, lines = ZERO, []
    for day, _order, kind, description, due, paid in events:
        balance += due - paid
        lines.append(
            {
                "date": day,
                "kind": kind,
                "description": description,
                "due": due,
                "paid": paid,
                "balance": balance,
            }
        )
    scheduled = {p: sum((i.due(p) for i in installments), ZERO) for p in PARTS}
    received = session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.loan_id == loan.id, Payment.status == "posted"
        )
    )
    owed = outstanding(installments)
    return {
        "loan": present_loan(session, loan, full=False),
        "opening": {
            "disbursed_on": loan.disbursed_on.isoformat() if loan.disbursed_on else None,
            "principal": f"{loan.principal:.2f}",
            **{f"scheduled_{p}": f"{v:.2f}" for p, v in scheduled.items()},
            "scheduled_total": f"{sum(scheduled.values(), ZERO):.2f}",
        },
        "lines": lines,
        "closing": {
            "received": f"{Decimal(received or 0):.2f}",
            **{f"outstanding_{p}": f"{v:.2f}" for p, v in owed.items()},
            "credit_balance": f"{loan.credit_balance:.2f}",
        },
    }
