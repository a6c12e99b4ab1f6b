"""Month-end arrears snapshots (月末逾期快照), the rows roll rates (迁徙率) are counted from.

The loan positions hook hands every loan in arrears after each close-of-business chunk,
every loan whose bucket moved, and a loan after a payment or a reversal; ``record`` upserts,
in one statement per list, a row per (loan, month of ``business_date``) with the loan's
bucket, DPD, principal outstanding, product and unit. A later position of the month
replaces an earlier one (same business date: the later call wins, as a payment after that
day's close of business), an older one never replaces a newer one — so the row is the
loan's state at the month's end, and a re-run of a date writes the same values again.

Only loans that are or were behind get rows: a position counts when the loan is behind
(DPD > 0), its bucket moved, or it has a row already (a loan that paid up sends M0 and is
recorded M0). Loans never behind have none. Positions of written-off loans (causes
``recovery_*``) are not arrears and are left out."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_collections.models import MonthEnd, table

M = table(MonthEnd)
UPDATED = (
    "business_date",
    "days_past_due",
    "bucket",
    "principal_outstanding",
    "product_code",
    "org_unit_id",
)
# rows per statement: far below SQLite's and PostgreSQL's limits on bound parameters
ROWS_PER_STATEMENT = 1000


def month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The first day of ``day``'s month and of the month after."""
    first = day.replace(day=1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    return first, after


def _counts(p: sdk.LoanPosition) -> bool:
    return not p.cause.startswith("recovery")


def record(session: Session, positions: list[sdk.LoanPosition]) -> None:
    """The month-end rows of these positions' loans, upserted set-based."""
    last: dict[tuple[uuid.UUID, dt.date], sdk.LoanPosition] = {}
    for p in positions:  # the list's last position of a loan-month wins
        if not _counts(p):
            continue
        key = (p.id, month_of(p.business_date)[0])
        if key not in last or p.business_date >= last[key].business_date:
            last[key] = p
    if not last:
        return
    tenant = sdk.current().id
    quiet = {k for k, p in last.items() if p.days_past_due <= 0 and p.bucket == p.previous_bucket}
    known: set[uuid.UUID] = set()
    if quiet:  # current and not moving: recorded only when the loan was behind before
        loans = {loan for loan, _ in quiet}
        known = set(
            session.scalars(
                select(M.c.loan_id).where(M.c.tenant_id == tenant, M.c.loan_id.in_(loans))
            )
        )
    rows = [_row(tenant, k[1], p) for k, p in last.items() if k not in quiet or k[0] in known]
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        session.execute(_upsert(session, rows[start : start + ROWS_PER_STATEMENT]))


def _row(tenant: uuid.UUID, month: dt.date, p: sdk.LoanPosition) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "id": sdk.uuid7(),
        "loan_id": p.id,
        "month": month,
        "next_month": month_of(month)[1],
        "business_date": p.business_date,
        "days_past_due": max(0, int(p.days_past_due)),
        "bucket": p.bucket,
        "principal_outstanding": p.principal_outstanding,
        "product_code": p.product_code or "",
        "org_unit_id": p.org_unit_id,
    }


def _upsert(session: Session, rows: list[dict[str, Any]]) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(M).values(rows)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["tenant_id", "loan_id", "month"],
        set_={name: new[name] for name in UPDATED},
        where=M.c.business_date <= new.business_date,
    )
