"""Where a case goes (分案): the tenant's ordered rules pick a queue for a loan's bucket,
overdue amount, product and unit (region); the queue's balancing picks one of its members —
round robin (轮询) or the one with the fewest open cases in the queue (最少在手). Everything a
batch of cases needs is read once (rules, queues, members, their open cases) and the queues'
round-robin counters are written back once, so a close-of-business chunk of hundreds of loans
costs a handful of statements."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_collections.models import Case, Queue, QueueMember, Rule, table

Q = table(Queue)


def split(text: str) -> frozenset[str]:
    """A comma-separated list of a rule (``M1, M2``) as a set; empty: any."""
    return frozenset(part.strip() for part in (text or "").split(",") if part.strip())


@dataclass(frozen=True)
class Condition:
    queue_id: uuid.UUID
    buckets: frozenset[str]
    products: frozenset[str]
    min_overdue: Decimal | None
    max_overdue: Decimal | None
    org_unit_id: uuid.UUID | None

    def holds(
        self, bucket: str, overdue: Decimal, product_code: str, org_unit_id: uuid.UUID
    ) -> bool:
        return (
            (not self.buckets or bucket in self.buckets)
            and (not self.products or product_code in self.products)
            and (self.min_overdue is None or overdue >= self.min_overdue)
            and (self.max_overdue is None or overdue <= self.max_overdue)
            and (self.org_unit_id is None or org_unit_id == self.org_unit_id)
        )


def conditions(session: Session) -> list[Condition]:
    """The active rules of active queues, in their order."""
    rows = session.execute(
        select(Rule)
        .join(Queue, (Queue.tenant_id == Rule.tenant_id) & (Queue.id == Rule.queue_id))
        .where(Rule.active.is_(True), Queue.active.is_(True))
        .order_by(Rule.position, Rule.created_at)
    ).scalars()
    return [
        Condition(
            r.queue_id,
            split(r.buckets),
            split(r.product_codes),
            r.min_overdue,
            r.max_overdue,
            r.org_unit_id,
        )
        for r in rows
    ]


def match(
    rules: list[Condition],
    bucket: str,
    overdue: Decimal,
    product_code: str,
    org_unit_id: uuid.UUID,
) -> uuid.UUID | None:
    """The queue of the first rule the loan meets, or None (the case waits unassigned)."""
    for rule in rules:
        if rule.holds(bucket, overdue, product_code, org_unit_id):
            return rule.queue_id
    return None


class Balancer:
    """Hands out a batch's cases to queue members: read once, counters written by ``save``."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.queues = {q.id: q for q in session.scalars(select(Queue))}
        self.members: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for m in session.scalars(
            select(QueueMember).order_by(QueueMember.created_at, QueueMember.id)
        ):
            self.members[m.queue_id].append(m.user_id)
        self.load: dict[tuple[uuid.UUID, uuid.UUID], int] = {
            (row.queue_id, row.owner_id): row.n
            for row in session.execute(
                select(Case.queue_id, Case.owner_id, func.count().label("n"))
                .where(Case.status == "open", Case.owner_id.is_not(None))
                .group_by(Case.queue_id, Case.owner_id)
            )
        }
        self.handed: dict[uuid.UUID, int] = {}

    def queue_by_code(self, code: str) -> Queue | None:
        return next((q for q in self.queues.values() if q.code == code), None)

    def pick(self, queue_id: uuid.UUID | None) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        """(collector, agency) for a case entering ``queue_id``: a member by the queue's
        balancing (None when it has none), and the queue's agency."""
        if queue_id is None or queue_id not in self.queues:
            return None, None
        queue, members = self.queues[queue_id], self.members.get(queue_id, [])
        if not members:
            return None, queue.agency_id
        if queue.balancing == "least_loaded":
            chosen = min(members, key=lambda u: (self.load.get((queue_id, u), 0), members.index(u)))
        else:
            count = self.handed.get(queue_id, queue.handed_out)
            chosen = members[count % len(members)]
            self.handed[queue_id] = count + 1
        self.load[(queue_id, chosen)] = self.load.get((queue_id, chosen), 0) + 1
        return chosen, queue.agency_id

    def left(self, queue_id: uuid.UUID | None, collector_id: uuid.UUID | None) -> None:
        """A case left ``collector_id`` in ``queue_id`` (closed or moved on)."""
        key = (queue_id, collector_id)
        if queue_id is not None and collector_id is not None and self.load.get(key):  # type: ignore[arg-type]
            self.load[key] -= 1  # type: ignore[index]

    def save(self) -> None:
        """The round-robin counters, one statement for the queues that handed out cases."""
        if not self.handed:
            return
        tenant = sdk.current().id
        self.session.execute(
            update(Q)
            .where(Q.c.tenant_id == bindparam("t"), Q.c.id == bindparam("q"))
            .values(handed_out=bindparam("n")),
            [{"t": tenant, "q": q, "n": n} for q, n in self.handed.items()],
        )
        for queue_id in self.handed:
            self.session.expire(self.queues[queue_id], ["handed_out"])
        self.handed.clear()
