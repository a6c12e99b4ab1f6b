"""A loan's arrears outside a close-of-business chunk (cob.py): as its row holds them, for
``loandesk_loan_positions`` (``positions``), and restated at once after a payment or a
reversal (``refresh``, as of ``arrears_date``), with the statements of ``cob_sql``."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_repayment.cob_settings import Bucket
from loandesk_repayment.cob_sql import (
    CENTS,
    I,
    L,
    R,
    _among,
    _day,
    _days_since_due,
    _dialect,
    _in_force,
    _outstanding,
    _owed,
    _update_loans,
    n,
)


def positions(
    session: Session,
    day: dt.date,
    ids: list[uuid.UUID],
    previous: dict[uuid.UUID, str],
    cause: str,
) -> list[sdk.LoanPosition]:
    """The arrears of the loans ``ids`` as their row now holds them (``loandesk.lending.
    LoanPosition``), with the bucket each had before (``previous``), for
    ``loandesk_loan_positions``: one statement over the loans and their installments."""
    if not ids:
        return []
    tenant = sdk.current().id
    left = (
        select(
            I.c.loan_id.label("loan_id"),
            func.sum(_outstanding("principal")).label("principal"),
            func.max(I.c.product_code).label("product_code"),
        )
        .where(I.c.tenant_id == tenant, _among(session, I.c.loan_id, ids), _in_force())
        .group_by(I.c.loan_id)
        .subquery()
    )
    rows = session.execute(
        select(
            L.c.id,
            L.c.number,
            L.c.customer_id,
            L.c.owner_id,
            L.c.org_unit_id,
            L.c.status,
            L.c.days_past_due,
            L.c.bucket,
            n(L.c.overdue_principal).label("overdue_principal"),
            n(L.c.overdue_amount).label("overdue_amount"),
            left.c.principal,
            left.c.product_code,
        )
        .outerjoin(left, left.c.loan_id == L.c.id)
        .where(L.c.tenant_id == tenant, _among(session, L.c.id, ids))
        .order_by(L.c.id)
    ).all()
    return [
        sdk.LoanPosition(
            id=r.id,
            number=r.number,
            customer_id=r.customer_id,
            product_code=r.product_code or "",
            owner_id=r.owner_id,
            org_unit_id=r.org_unit_id,
            status=r.status,
            business_date=day,
            days_past_due=int(r.days_past_due or 0),
            bucket=r.bucket,
            previous_bucket=previous.get(r.id, r.bucket),
            overdue_principal=Decimal(int(r.overdue_principal or 0)) * CENTS,
            overdue_amount=Decimal(int(r.overdue_amount or 0)) * CENTS,
            principal_outstanding=Decimal(int(r.principal or 0)) * CENTS,
            cause=cause,
        )
        for r in rows
    ]


def arrears_date(session: Session, cob_date: dt.date | None) -> dt.date | None:
    """The date a payment or a reversal restates a loan's arrears at: the later of the
    loan's ``cob_date`` (the last date close of business brought its arrears to) and the
    tenant's business date (the latest run done: a loan without work is not taken, its
    arrears were 0 then). None: close of business has never taken the loan."""
    if cob_date is None:
        return None
    done = session.scalar(
        select(func.max(R.c.business_date)).where(
            R.c.tenant_id == sdk.current().id, R.c.state == "done"
        )
    )
    return max(cob_date, done) if done is not None else cob_date


def refresh(
    session: Session, loan_id: uuid.UUID, day: dt.date, buckets: list[Bucket]
) -> tuple[str, str]:
    """After a payment or a reversal on a loan close of business has brought to ``day``
    (its ``cob_date``): its installments' and its own DPD, bucket and overdue amounts as of
    that day, at once rather than at the next close of business. Penalty, ``overdue_since``
    and the DPD of installments now paid are left to it: it freezes their penalty segment
    when it sees them paid. The loan is locked by the caller. (bucket before, bucket after)."""
    tenant = sdk.current().id
    before = session.scalar(select(L.c.bucket).where(L.c.tenant_id == tenant, L.c.id == loan_id))
    session.execute(
        update(I)
        .where(
            I.c.tenant_id == tenant,
            I.c.loan_id == loan_id,
            _in_force(),
            I.c.due_date < _day(),
            _owed() > 0,
        )
        .values(days_past_due=_days_since_due(_dialect(session))),
        {"day": day},
    )
    after = {loan: bucket for loan, bucket, _ in _update_loans(session, day, [loan_id], buckets)}
    return str(before), after.get(loan_id, buckets[0].name)
