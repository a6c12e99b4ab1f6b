"""Credit balance (溢缴款) applied by close of business (cob.py): a loan's credit — money a
borrower paid beyond what was due (payments.py) — pays what is due on the business date as
it falls due, oldest installment first, each in the product's allocation order, before the
day's overdue marking and penalty, so a borrower who paid ahead is not marked overdue.

Per chunk, for the few loans holding credit: one SELECT of their installments with something
owed, the allocation in Python (``payments.allocate_due``'s rule), then the installments' and
loans' new amounts in one batched UPDATE each and the ledger lines (``credit_balance``
against each part's receivable, split by funder share as ``ledger.Book`` splits, event
``credit``) in one INSERT. Events ``loan.credit_applied`` per loan; the chunk's audit names
the loans."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Date, String, bindparam, select, update
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_repayment import cob_ledger, ledger
from loandesk_repayment.cob_sql import ChunkLoan, I, L, _among, _in_force, _owed
from loandesk_repayment.models import PARTS

ZERO = Decimal("0.00")


@dataclass
class Applied:
    by_loan: dict[uuid.UUID, Decimal] = field(default_factory=dict)  # credit used, yuan


def apply_credit(
    session: Session,
    day: dt.date,
    loans: list[ChunkLoan],
    orders: dict[tuple[uuid.UUID, int], list[str]],
) -> Applied:
    """Apply the credit of the locked ``loans`` holding some to what is due on ``day``."""
    applied = Applied()
    holders = {loan.id: loan for loan in loans if loan.credit_balance > 0}
    if not holders:
        return applied
    tenant = sdk.current().id
    paid_columns = [I.c[f"{p}_paid"] for p in PARTS]
    due_columns = [I.c[f"{p}_due"] for p in PARTS]
    rows = session.execute(
        select(I.c.id, I.c.loan_id, I.c.status, *due_columns, *paid_columns)
        .where(
            I.c.tenant_id == tenant,
            _among(session, I.c.loan_id, list(holders)),
            _in_force(),
            I.c.due_date <= day,
            _owed() > 0,
        )
        .order_by(I.c.loan_id, I.c.due_date, I.c.number)
    ).all()
    left = {loan_id: loan.credit_balance for loan_id, loan in holders.items()}
    by_part: dict[uuid.UUID, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    changed = []
    for row in rows:
        loan = holders[row.loan_id]
        if left[loan.id] <= 0:
            continue
        paid = {p: getattr(row, f"{p}_paid") for p in PARTS}
        for part in orders[(loan.product_id, loan.product_version)]:
            take = min(left[loan.id], getattr(row, f"{part}_due") - paid[part])
            if take <= 0:
                continue
            paid[part] += take
            by_part[loan.id][part] += take
            left[loan.id] -= take
        owed = sum((getattr(row, f"{p}_due") - paid[p] for p in PARTS), ZERO)
        changed.append(
            {
                "b_id": row.id,
                **{f"b_{p}": paid[p] for p in PARTS},
                "b_status": "paid" if owed == 0 else "partial",
                "b_paid_on": day if owed == 0 else None,
            }
        )
    if not changed:
        return applied
    session.execute(
        update(I)
        .where(I.c.tenant_id == tenant, I.c.id == bindparam("b_id"))
        .values(
            **{f"{p}_paid": bindparam(f"b_{p}", type_=I.c[f"{p}_paid"].type) for p in PARTS},
            status=bindparam("b_status", type_=String()),
            paid_on=bindparam("b_paid_on", type_=Date()),
        ),
        changed,
    )
    applied.by_loan = {
        loan_id: holders[loan_id].credit_balance - rest
        for loan_id, rest in left.items()
        if rest != holders[loan_id].credit_balance
    }
    session.execute(
        update(L)
        .where(L.c.tenant_id == tenant, L.c.id == bindparam("b_id"))
        .values(credit_balance=bindparam("b_credit", type_=L.c.credit_balance.type)),
        [{"b_id": i, "b_credit": left[i]} for i in applied.by_loan],
    )
    _book(session, day, by_part)
    for loan_id, amount in sorted(applied.by_loan.items()):
        payload = {"amount": str(amount), "business_date": day.isoformat()}
        sdk.emit(session, "loan.credit_applied", "loan", loan_id, payload)
    return applied


def _book(session: Session, day: dt.date, by_part: dict[uuid.UUID, dict[str, Decimal]]) -> None:
    """``credit_balance`` debited, each part's receivable credited, split by funder share."""
    shares = cob_ledger.funder_shares(session, list(by_part))
    lines: list[cob_ledger.Line] = []
    for loan_id, parts in by_part.items():
        for part in PARTS:
            for funder_id, amount in ledger.split(parts.get(part, ZERO), shares[loan_id]):
                if amount <= 0:
                    continue
                lines.append(cob_ledger.Line(loan_id, "credit_balance", amount, ZERO, funder_id))
                lines.append(
                    cob_ledger.Line(loan_id, ledger.RECEIVABLE[part], ZERO, amount, funder_id)
                )
    cob_ledger.insert_lines(session, day, "credit", lines)
