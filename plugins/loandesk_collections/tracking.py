"""Cases follow their loans (``loandesk_loan_positions``), and promises to pay are checked.

For each loan the loan-keeping plugin reports (close of business, a payment, a reversal), in
its transaction and set-based: a loan in arrears without a case gets one (into the queue the
rules pick); a closed case of a loan in arrears again reopens; a case whose loan rolled into
another bucket is re-assigned when the rules now pick another queue; a case whose loan is
current again closes (its open promises count as kept). Money paid while a case runs is
counted on its assignment and on its open promises; a promise paid in full is kept, one whose
date (plus the grace days) passed first is broken — close of business checks the cases it
reports, the daily job every open promise — and its collector gets a to-do."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_collections import assign, settings
from loandesk_collections.batch import ZERO, A, Batch, C, P, case_rows

CAUSES_OF_PAYMENT = ("payment", "reversal", "recovery_payment", "recovery_reversal")
REVERSALS = ("reversal", "recovery_reversal")


def open_promises(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[dict]]:
    """The open promises of these cases, oldest first, as dicts."""
    found: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    if not case_ids:
        return found
    tenant = sdk.current().id
    rows = session.execute(
        P.select()
        .where(P.c.tenant_id == tenant, P.c.status == "open", P.c.case_id.in_(case_ids))
        .order_by(P.c.promised_on, P.c.created_at)
    ).mappings()
    for row in rows:
        found[row["case_id"]].append(dict(row))
    return found


def _owed(p: sdk.LoanPosition) -> bool:
    return p.days_past_due > 0 and p.overdue_amount > 0


def follow(session: Session, positions: list[sdk.LoanPosition]) -> None:
    """The hook: cases opened, re-assigned, restated and closed for these loans."""
    if not positions:
        return
    cases = case_rows(session, C.c.loan_id.in_([p.id for p in positions]))
    if not cases and not any(_owed(p) for p in positions):
        return  # a payment on a loan that is not behind and never was: nothing to follow
    promises = open_promises(session, [c["id"] for c in cases.values() if c["status"] == "open"])
    rules = assign.conditions(session)
    grace = dt.timedelta(days=settings.grace_days())
    batch = Batch(session)
    broken: list[tuple[dict[str, Any], dict[str, Any]]] = []
    taken_back: dict[uuid.UUID, Decimal] = {}

    def queue_for(p: sdk.LoanPosition) -> uuid.UUID | None:
        return assign.match(rules, p.bucket, p.overdue_amount, p.product_code, p.org_unit_id)

    for p in positions:
        owed = _owed(p)
        case = cases.get(p.id)
        if case is None:
            if owed:
                batch.open(p, queue_id=queue_for(p))
            continue
        if case["status"] == "closed":
            if owed and p.cause in REVERSALS:
                # the money that closed it came back: not collected after all
                taken_back[case["id"]] = p.overdue_amount - Decimal(case["overdue_amount"])
            if owed:
                batch.reopen(case, p)
                batch.assign(case, queue_for(p), "reopened")
            continue
        paid = Decimal(case["overdue_amount"]) - p.overdue_amount
        mine = promises.get(case["id"], [])
        if p.cause in CAUSES_OF_PAYMENT and paid:
            batch.collected(case, paid)
            for promise in mine:
                promise["paid"] = max(ZERO, Decimal(promise["paid"]) + paid)
                done = promise["paid"] >= promise["amount"]
                batch.promise(promise, case, "kept" if done else "open")
        moved = p.bucket != p.previous_bucket or p.bucket != case["bucket"]
        batch.restate(case, p)
        if not owed:
            for promise in mine:
                if promise["status"] == "open":
                    batch.promise(promise, case, "kept")
            batch.close(case)
            continue
        if p.cause == "cob":
            for promise in mine:
                if promise["status"] == "open" and promise["promised_on"] + grace < p.business_date:
                    batch.promise(promise, case, "broken")
                    broken.append((promise, case))
        if moved:
            target = queue_for(p)
            if target != case["queue_id"]:
                batch.assign(case, target, "rolled")
    for assignment_id, case_id in last_assignments(session, list(taken_back)).items():
        batch.tally[assignment_id]["collected"] -= taken_back[case_id]
    batch.write()
    raise_todos(session, broken)


def last_assignments(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The latest ended assignment of each of these (closed) cases: assignment → case."""
    if not case_ids:
        return {}
    tenant = sdk.current().id
    rows = session.execute(
        select(A.c.id, A.c.case_id)
        .where(A.c.tenant_id == tenant, A.c.case_id.in_(case_ids), A.c.ended_at.is_not(None))
        .order_by(A.c.case_id, A.c.started_at, A.c.id)
    ).all()
    latest = {row.case_id: row.id for row in rows}  # the last row of each case wins
    return {assignment: case for case, assignment in latest.items()}


def local_today() -> dt.date:
    return sdk.utcnow().astimezone(ZoneInfo(sdk.current().timezone)).date()


def check_promises(session: Session, today: dt.date | None = None) -> int:
    """Every open promise of an open case whose date (plus the grace days) is behind
    ``today`` (the tenant's) is broken; its collector gets a to-do. How many."""
    today = today or local_today()
    last = today - dt.timedelta(days=settings.grace_days() + 1)
    tenant = sdk.current().id
    due = session.execute(
        select(P.c.case_id)
        .join(C, (C.c.tenant_id == P.c.tenant_id) & (C.c.id == P.c.case_id))
        .where(
            P.c.tenant_id == tenant,
            P.c.status == "open",
            P.c.promised_on <= last,
            C.c.status == "open",
        )
        .distinct()
    ).scalars()
    case_ids = list(due)
    if not case_ids:
        return 0
    cases = {c["id"]: c for c in case_rows(session, C.c.id.in_(case_ids)).values()}
    batch = Batch(session)
    broken = []
    for case_id, promises in open_promises(session, case_ids).items():
        for promise in promises:
            if promise["promised_on"] <= last:
                batch.promise(promise, cases[case_id], "broken")
                broken.append((promise, cases[case_id]))
    batch.write()
    raise_todos(session, broken)
    return len(broken)


def raise_todos(session: Session, broken: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """A to-do for each broken promise: for the case's collector, or the post-loan admins
    when the case has none; due the tenant's today, linked to the case."""
    if not broken:
        return
    zh = (sdk.current().locale or "zh_CN").startswith("zh")
    for promise, case in broken:
        amount = f"{Decimal(promise['amount']):,.2f}"
        day = promise["promised_on"].isoformat()
        if zh:
            title = f"承诺还款未兑现：{case['loan_number']}（{day} 承诺 ¥{amount}）"
        else:
            title = f"Promise to pay broken: {case['loan_number']} ({amount} by {day})"
        sdk.create_todo(
            session,
            title,
            source="collections:promise_broken",
            source_key=f"collections:promise_broken:{promise['id']}",
            assignee_user_id=case["owner_id"],
            assignee_role=None if case["owner_id"] else "post_loan_admin",
            due_on=local_today(),
            record_type="collection_case",
            record_id=case["id"],
        )
