"""The loan book other plugins use (``loandesk.lending.LoanBook``, hook ``loandesk_loan_book``):
contracts read a pending loan, disbursement activates it, the borrower's page lists what is
due and paid. Thin: every change goes through ``loans`` like the plugin's own API."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from loandesk import sdk
from loandesk.sdk import finance
from loandesk_repayment import cob, cob_positions, loans, write_off
from loandesk_repayment.funders import funders_of
from loandesk_repayment.models import (
    PARTS,
    SHARE_UNIT,
    Funder,
    Installment,
    LedgerEntry,
    Loan,
    LoanFunder,
    Payment,
)

ZERO = Decimal("0.00")


def summary(loan: Loan, shares: list[tuple[Funder, int]] | None = None) -> sdk.LoanSummary:
    session = object_session(loan)
    if shares is None:
        shares = funders_of(session, loan) if session is not None else []
    return sdk.LoanSummary(
        id=loan.id,
        number=loan.number,
        customer_id=loan.customer_id,
        application_id=loan.application_id,
        status=loan.status,
        principal=loan.principal,
        periods=loan.periods,
        product_terms=finance.codec.product_terms_from_dict(loan.product_terms),
        terms=finance.codec.terms_from_dict(loan.terms),
        annual_rate_irr=Decimal(loan.annual_rate_irr) if loan.annual_rate_irr else None,
        disbursed_on=loan.disbursed_on,
        owner_id=loan.owner_id,
        org_unit_id=loan.org_unit_id,
        funders=tuple(
            sdk.FunderShare(f.id, f.code, f.name, Decimal(share) / SHARE_UNIT)
            for f, share in shares
        ),
        cob_date=loan.cob_date,
        days_past_due=loan.days_past_due or 0,
        bucket=loan.bucket or "M0",
        overdue_amount=loan.overdue_amount or ZERO,
    )


class RepaymentLoanBook:
    """``LoanBook`` over this plugin's loans, in the caller's transaction."""

    def get(self, session: Session, loan_id: Any) -> sdk.LoanSummary | None:
        try:
            found = loans.get_loan(session, loan_id)
        except sdk.NotFound:
            return None
        return summary(found)

    def installments(self, session: Session, loan_id: Any) -> list[sdk.InstallmentLine]:
        loan = loans.get_loan(session, loan_id)
        return [_installment_line(item) for item in loans.installments_of(session, loan)]

    def payments(self, session: Session, loan_id: Any) -> list[sdk.PaymentLine]:
        loan = loans.get_loan(session, loan_id)
        query = select(Payment).where(Payment.loan_id == loan.id).order_by(Payment.sequence)
        return [_payment_line(p) for p in session.scalars(query)]

    def positions(
        self, session: Session, *, after: uuid.UUID | None = None, limit: int = 500
    ) -> list[sdk.LoanPosition]:
        query = select(Loan.id).where(Loan.status == "active").order_by(Loan.id).limit(limit)
        if after is not None:
            query = query.where(Loan.id > after)
        ids = list(session.scalars(query))
        day = cob.business_date(session) or loans.local_today()
        return cob_positions.positions(session, day, ids, {}, "snapshot")

    def histories(
        self,
        session: Session,
        *,
        statuses: Sequence[str] = ("active",),
        after: uuid.UUID | None = None,
        limit: int = 500,
        loan_ids: Sequence[uuid.UUID] | None = None,
        customer_ids: Sequence[uuid.UUID] | None = None,
    ) -> list[sdk.LoanHistory]:
        query = select(Loan).where(Loan.status.in_(list(statuses))).order_by(Loan.id).limit(limit)
        if after is not None:
            query = query.where(Loan.id > after)
        if loan_ids is not None:
            query = query.where(Loan.id.in_(list(loan_ids)))
        if customer_ids is not None:
            query = query.where(Loan.customer_id.in_(list(customer_ids)))
        found = list(session.scalars(query))
        if not found:
            return []
        ids = [loan.id for loan in found]
        # four queries for the whole chunk, however many loans it holds
        shares: dict[uuid.UUID, list[tuple[Funder, int]]] = {i: [] for i in ids}
        for loan_id, funder, share in session.execute(
            select(LoanFunder.loan_id, Funder, LoanFunder.share)
            .join(LoanFunder, LoanFunder.funder_id == Funder.id)
            .where(LoanFunder.loan_id.in_(ids), LoanFunder.tenant_id == Funder.tenant_id)
            .order_by(LoanFunder.share.desc(), Funder.code)
        ):
            shares[loan_id].append((funder, share))
        schedule: dict[uuid.UUID, list[sdk.InstallmentLine]] = {i: [] for i in ids}
        for item in session.scalars(
            select(Installment)
            .where(Installment.loan_id.in_(ids), Installment.superseded.is_(False))
            .order_by(Installment.loan_id, Installment.number)
        ):
            schedule[item.loan_id].append(_installment_line(item))
        paid: dict[uuid.UUID, list[sdk.PaymentLine]] = {i: [] for i in ids}
        for payment in session.scalars(
            select(Payment)
            .where(Payment.loan_id.in_(ids))
            .order_by(Payment.loan_id, Payment.sequence)
        ):
            paid[payment.loan_id].append(_payment_line(payment))
        return [
            sdk.LoanHistory(
                loan=summary(loan, shares[loan.id]),
                installments=tuple(schedule[loan.id]),
                payments=tuple(paid[loan.id]),
            )
            for loan in found
        ]

    def book(
        self,
        session: Session,
        *,
        customer_id: Any,
        product_id: Any,
        principal: Any,
        periods: Any,
        product_version: int | None = None,
        application_id: uuid.UUID | None = None,
        funders: Sequence[Mapping[str, Any]] | None = None,
        expected_on: dt.date | None = None,
        maturity_date: dt.date | None = None,
        owner_id: uuid.UUID | None = None,
        booked_by: uuid.UUID | None = None,
        idempotency_key: str | None = None,
    ) -> sdk.LoanSummary:
        loan = loans.book(
            session,
            customer_id=customer_id,
            product_id=product_id,
            principal=principal,
            periods=periods,
            product_version=product_version,
            application_id=application_id,
            funders=[dict(f) for f in funders] if funders is not None else None,
            expected_on=expected_on,
            maturity_date=maturity_date,
            booked_by=booked_by,
            owner_id=owner_id,
            idempotency_key=idempotency_key,
        )
        return summary(loan)

    def activate(self, session: Session, loan_id: Any, disbursed_on: dt.date) -> sdk.LoanSummary:
        loan = loans.get_loan(session, loan_id)
        loans.activate(session, loan, disbursed_on)
        return summary(loans.get_loan(session, loan.id))

    def write_off(
        self,
        session: Session,
        loan_id: Any,
        written_off_on: dt.date,
        *,
        reason: str,
        approved_by: uuid.UUID | None = None,
    ) -> sdk.WrittenOff:
        loan = loans.get_loan(session, loan_id)
        return write_off.write_off(
            session, loan.id, written_off_on, reason=reason, approved_by=approved_by
        )

    def recoveries(
        self, session: Session, loan_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Decimal]:
        return write_off.recoveries(session, loan_ids)

    def ledger_totals(self, session: Session, booked_on: dt.date) -> list[sdk.LedgerTotal]:
        rows = session.execute(
            select(
                LedgerEntry.event,
                LedgerEntry.account,
                LedgerEntry.loan_id,
                func.sum(LedgerEntry.debit),
                func.sum(LedgerEntry.credit),
            )
            .where(LedgerEntry.booked_on == booked_on)
            .group_by(LedgerEntry.event, LedgerEntry.account, LedgerEntry.loan_id)
            .order_by(LedgerEntry.event, LedgerEntry.account, LedgerEntry.loan_id)
        ).all()
        ids = sorted({row[2] for row in rows})
        # the loans apart: their terms are JSON, which PostgreSQL cannot group by
        found = {
            loan.id: loan
            for loan in session.scalars(select(Loan).where(Loan.id.in_(ids)))
        } if ids else {}  # fmt: skip
        # sum() keeps the column's Money type: the totals come back as Decimal yuan
        return [
            sdk.LedgerTotal(
                booked_on=booked_on,
                event=event,
                account=account,
                loan_id=loan_id,
                loan_number=found[loan_id].number,
                customer_id=found[loan_id].customer_id,
                product_code=str(found[loan_id].product_terms.get("code", "")),
                debit=Decimal(debit or 0),
                credit=Decimal(credit or 0),
            )
            for event, account, loan_id, debit, credit in rows
        ]


def _installment_line(item: Installment) -> sdk.InstallmentLine:
    return sdk.InstallmentLine(
        number=item.number,
        due_date=item.due_date,
        principal_due=item.principal_due,
        interest_due=item.interest_due,
        fees_due=item.fees_due,
        penalty_due=item.penalty_due,
        paid=sum((item.paid(part) for part in PARTS), ZERO),
        outstanding=sum((item.outstanding(part) for part in PARTS), ZERO),
        status=item.status,
    )


def _payment_line(p: Payment) -> sdk.PaymentLine:
    return sdk.PaymentLine(
        id=p.id, received_on=p.received_on, amount=p.amount, status=p.status, reference=p.reference
    )
