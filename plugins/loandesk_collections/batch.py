"""Changes to many cases at once (``Batch``): open, reopen, assign and close cases, count what
collectors collect and how promises stand, then write it all with a few statements — one
insert per table, one executemany update per table, one grouped ``emit_many`` per kind of
event and one audit record per kind of change (naming every case). The loan positions hook,
the broken-promise check and the single-case services (an automation's early assignment, a
manager's reassignment) all go through it."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_collections.assign import Balancer
from loandesk_collections.models import Assignment, Case, Promise, table

C, A, P = table(Case), table(Assignment), table(Promise)
ZERO = Decimal("0.00")
CASE_COLUMNS = (
    "status", "early", "business_date", "days_past_due", "bucket", "overdue_principal",
    "overdue_amount", "principal_outstanding", "queue_id", "agency_id", "owner_id",
    "assignment_id", "closed_at", "times_opened",
)  # fmt: skip


def case_rows(session: Session, where: Any) -> dict[uuid.UUID, dict[str, Any]]:
    """Cases as plain dicts (every column), keyed by loan: ``where`` narrows them."""
    tenant = sdk.current().id
    rows = session.execute(C.select().where(C.c.tenant_id == tenant, where)).mappings()
    return {row["loan_id"]: dict(row) for row in rows}


class Batch:
    """What is about to change; ``write`` puts it in the database."""

    def __init__(self, session: Session, balancer: Balancer | None = None) -> None:
        self.session = session
        self.tenant = sdk.current().id
        self.now = sdk.utcnow()
        self.balancer = balancer or Balancer(session)
        self._reset()

    def _reset(self) -> None:
        self.new_cases: list[dict[str, Any]] = []
        self.changed: dict[uuid.UUID, dict[str, Any]] = {}
        self.new_assignments: list[dict[str, Any]] = []
        self.ended: set[uuid.UUID] = set()
        self.tally: dict[uuid.UUID, dict[str, Any]] = defaultdict(
            lambda: {"collected": ZERO, "promises_kept": 0, "promises_broken": 0}
        )
        self.promises: dict[uuid.UUID, dict[str, Any]] = {}
        self.events: dict[tuple[str, tuple[tuple[str, Any], ...]], list[uuid.UUID]] = defaultdict(
            list
        )
        self.audits: dict[str, list[str]] = defaultdict(list)

    # --- cases ---------------------------------------------------------------------------

    def open(self, position: Any, *, early: bool = False, queue_id: Any = None) -> dict[str, Any]:
        """A new case for ``position`` (a ``sdk.LoanPosition`` or alike), into ``queue_id``
        (the queue the rules or the caller picked; None: unassigned)."""
        case = {
            "tenant_id": self.tenant,
            "id": sdk.uuid7(),
            "loan_id": position.id,
            "loan_number": position.number,
            "customer_id": position.customer_id,
            "product_code": position.product_code or "",
            "org_unit_id": position.org_unit_id,
            "status": "open",
            "early": early,
            "opened_at": self.now,
            "closed_at": None,
            "times_opened": 1,
            "queue_id": None,
            "agency_id": None,
            "owner_id": None,
            "assignment_id": None,
            "custom": {},
        }
        self.restate(case, position)
        self.new_cases.append(case)
        self._event("collection.case_opened", case, {"bucket": case["bucket"], "early": early})
        self.audits["collection_case.open"].append(str(case["id"]))
        self.assign(case, queue_id, "early" if early else "opened")
        return case

    def reopen(self, case: dict[str, Any], position: Any, *, early: bool = False) -> None:
        case.update(status="open", closed_at=None, early=early)
        case["times_opened"] = int(case["times_opened"]) + 1
        self.restate(case, position)
        self._touch(case)
        self._event("collection.case_opened", case, {"bucket": case["bucket"], "early": early})
        self.audits["collection_case.reopen"].append(str(case["id"]))

    def restate(self, case: dict[str, Any], position: Any) -> None:
        """The case's arrears as the loan now stands."""
        case.update(
            business_date=getattr(position, "business_date", None) or case.get("business_date"),
            days_past_due=int(position.days_past_due),
            bucket=position.bucket,
            overdue_principal=Decimal(position.overdue_principal),
            overdue_amount=Decimal(position.overdue_amount),
            principal_outstanding=Decimal(position.principal_outstanding),
        )
        self._touch(case)

    def assign(
        self, case: dict[str, Any], queue_id: Any, reason: str, collector: Any = None
    ) -> None:
        """Case into ``queue_id`` (None: unassigned), to ``collector`` or whom the queue's
        balancing picks; the running assignment ends and a new one starts."""
        if case.get("assignment_id") is not None:
            self.ended.add(case["assignment_id"])
            self.balancer.left(case.get("queue_id"), case.get("owner_id"))
        if collector is None:
            collector, agency = self.balancer.pick(queue_id)
        else:
            agency = self.balancer.queues[queue_id].agency_id if queue_id else None
        assignment = {
            "tenant_id": self.tenant,
            "id": sdk.uuid7(),
            "case_id": case["id"],
            "queue_id": queue_id,
            "agency_id": agency,
            "collector_id": collector,
            "bucket": case["bucket"],
            "reason": reason,
            "started_at": self.now,
            "ended_at": None,
            "actions": 0,
            "promises_made": 0,
            "promises_kept": 0,
            "promises_broken": 0,
            "collected": ZERO,
        }
        self.new_assignments.append(assignment)
        case.update(
            queue_id=queue_id, agency_id=agency, owner_id=collector, assignment_id=assignment["id"]
        )
        self._touch(case)
        if queue_id is not None:
            payload = {"queue_id": str(queue_id), "bucket": case["bucket"], "reason": reason}
            self._event("collection.case_assigned", case, payload)
            self.audits["collection_case.assign"].append(str(case["id"]))

    def close(self, case: dict[str, Any]) -> None:
        if case.get("assignment_id") is not None:
            self.ended.add(case["assignment_id"])
            self.balancer.left(case.get("queue_id"), case.get("owner_id"))
        # queue and collector stay on the closed case (who had it last); the assignment ended
        case.update(status="closed", closed_at=self.now, assignment_id=None)
        self._touch(case)
        self._event("collection.case_closed", case, {"bucket": case["bucket"]})
        self.audits["collection_case.close"].append(str(case["id"]))

    def collected(self, case: dict[str, Any], amount: Decimal) -> None:
        """Money the borrower paid (negative: a reversal) while the case ran, counted on
        its running assignment."""
        if case.get("assignment_id") is not None and amount:
            self.tally[case["assignment_id"]]["collected"] += amount

    # --- promises ------------------------------------------------------------------------

    def promise(self, row: dict[str, Any], case: dict[str, Any], status: str) -> None:
        """Promise ``row`` (a dict of its columns) kept or broken, or only its ``paid``
        changed (``status`` ``open``)."""
        row = self.promises.setdefault(row["id"], row)
        if status == "open":
            return
        row.update(status=status, resolved_at=self.now)
        if row.get("assignment_id") is not None:
            self.tally[row["assignment_id"]][f"promises_{status}"] += 1
        name = "collection.promise_kept" if status == "kept" else "collection.promise_broken"
        payload = {
            "promise_id": str(row["id"]),
            "amount": str(row["amount"]),
            "promised_on": row["promised_on"].isoformat(),
        }
        self._event(name, case, payload)
        self.audits[f"collection_promise.{status}"].append(str(row["id"]))

    # --- writing -------------------------------------------------------------------------

    def _touch(self, case: dict[str, Any]) -> None:
        if all(case is not new for new in self.new_cases):
            self.changed[case["id"]] = case

    def _event(self, name: str, case: dict[str, Any], payload: dict[str, Any]) -> None:
        # cases with the same payload go out in one emit_many (the case names its loan)
        self.events[(name, tuple(sorted(payload.items())))].append(case["id"])

    def write(self) -> None:
        """Everything gathered, in the caller's transaction."""
        session, tenant = self.session, self.tenant
        if self.new_cases:
            session.execute(insert(C), self.new_cases)
        if self.ended:
            session.execute(
                update(A)
                .where(A.c.tenant_id == tenant, A.c.id.in_(self.ended))
                .values(ended_at=self.now)
            )
        if self.new_assignments:
            session.execute(insert(A), self.new_assignments)
        cases = list(self.changed.values())
        if cases:
            session.execute(
                update(C)
                .where(C.c.tenant_id == bindparam("t"), C.c.id == bindparam("c"))
                .values({k: bindparam(f"v_{k}") for k in CASE_COLUMNS}),
                [
                    {"t": tenant, "c": c["id"], **{f"v_{k}": c[k] for k in CASE_COLUMNS}}
                    for c in cases
                ],
            )
        if self.tally:
            session.execute(
                update(A)
                .where(A.c.tenant_id == bindparam("t"), A.c.id == bindparam("a"))
                .values(
                    collected=A.c.collected + bindparam("d_collected", type_=A.c.collected.type),
                    promises_kept=A.c.promises_kept + bindparam("d_kept"),
                    promises_broken=A.c.promises_broken + bindparam("d_broken"),
                ),
                [
                    {
                        "t": tenant,
                        "a": a,
                        "d_collected": t["collected"],
                        "d_kept": t["promises_kept"],
                        "d_broken": t["promises_broken"],
                    }
                    for a, t in self.tally.items()
                ],
            )
        if self.promises:
            session.execute(
                update(P)
                .where(P.c.tenant_id == bindparam("t"), P.c.id == bindparam("p"))
                .values(
                    status=bindparam("v_status"),
                    paid=bindparam("v_paid", type_=P.c.paid.type),
                    resolved_at=bindparam("v_resolved", type_=P.c.resolved_at.type),
                ),
                [
                    {
                        "t": tenant,
                        "p": p["id"],
                        "v_status": p["status"],
                        "v_paid": p["paid"],
                        "v_resolved": p["resolved_at"],
                    }
                    for p in self.promises.values()
                ],
            )
        self.balancer.save()
        for (name, payload), ids in self.events.items():
            sdk.emit_many(session, name, "collection_case", ids, dict(payload))
        for action, records in self.audits.items():
            sdk.audit_record(
                session,
                action,
                "collection_case",
                records[0] if len(records) == 1 else None,
                {"records": sorted(set(records))},
            )
        self._reset()
