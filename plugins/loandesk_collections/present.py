"""A case as the API and the collector's page show it: the case, the loan's schedule and
payments (from the loan book), the borrower's contacts masked as the viewer's field
permissions say, the history (actions, promises, assignments) and the bucket's script."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_collections import cases, setup
from loandesk_collections.models import Case, Queue

CASE_FIELDS = (
    "id", "loan_id", "loan_number", "customer_id", "product_code", "status", "early",
    "business_date", "days_past_due", "bucket", "overdue_principal", "overdue_amount",
    "principal_outstanding", "queue_id", "agency_id", "owner_id", "opened_at", "closed_at",
)  # fmt: skip


def case(row: Case) -> dict[str, Any]:
    return {k: getattr(row, k) for k in CASE_FIELDS}


def detail(session: Session, row: Case) -> dict[str, Any]:
    book = sdk.loan_book()
    contacts = sdk.borrower_contacts(session, row.customer_id)
    return {
        **case(row),
        "borrower": dataclasses.asdict(contacts) if contacts is not None else None,
        "installments": [dataclasses.asdict(i) for i in book.installments(session, row.loan_id)],
        "payments": [dataclasses.asdict(p) for p in book.payments(session, row.loan_id)],
        "actions": cases.actions_of(session, row),
        "promises": cases.promises_of(session, row),
        "assignments": cases.assignments_of(session, row),
        "script": setup.script_for(session, row.bucket),
    }


def queue(session: Session, row: Queue) -> dict[str, Any]:
    open_cases = session.scalar(
        select(func.count()).where(Case.queue_id == row.id, Case.status == "open")
    )
    return {
        "id": row.id,
        "code": row.code,
        "name": row.name,
        "agency_id": row.agency_id,
        "balancing": row.balancing,
        "active": row.active,
        "members": setup.members(session, row),
        "open_cases": open_cases or 0,
    }
