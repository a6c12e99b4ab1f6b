"""Back-tests (回测): how the draft, or a published version, would have decided the
applications submitted in a period, run over the values their stored decisions kept
(``Decision.context``; ``inputs`` for decisions made before it was kept). The decisions are
read in pages of ``BATCH`` (keyset on decided_at, id), never all at once; up to
``INLINE_LIMIT`` run in the request, more in the ``risk.back_test`` job with its progress."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    Form,
    JobContext,
    NotFound,
    ValidationFailed,
    audit_record,
    current,
    enqueue,
    utcnow,
)
from loandesk_risk import policy, service
from loandesk_risk.models import BackTest, Decision

BATCH = 200
INLINE_LIMIT = 300
ROWS_KEPT = 1000
JOB = "risk.back_test"


def start(
    session: Session,
    form: Form,
    *,
    source: str,
    since: date,
    until: date,
    user_id: uuid.UUID,
) -> BackTest:
    """A back-test of ``source`` ("draft" or a version number) over the decisions made from
    day ``since`` to day ``until`` included, in the tenant's time zone: run now when they
    are few, else left queued for ``queue``."""
    record_type = form.record_type.key
    if until < since:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"until": [N_("The last day cannot be before the first.")]},
        )
    zone = ZoneInfo(current().timezone)
    start_at = datetime.combine(since, time.min, tzinfo=zone).astimezone(UTC)
    end_at = datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    kinds = service.inputs(form)
    if source == "draft":
        definition, label = service.draft(session, record_type), "draft"
    else:
        number = int(source) if source.isdigit() else 0
        definition = dict(service.version(session, record_type, number).definition)
        label = f"v{number}"
    problems = policy.check(definition, kinds)
    if problems:
        raise ValidationFailed(
            N_("Fix the rule set before testing it."),
            errors={"source": [N_("The rule set has problems.")]},
        )
    test = BackTest(
        record_type=record_type,
        label=label,
        definition=definition,
        kinds=kinds,
        since=start_at,
        until=end_at,
        state="queued",
        total=session.scalar(select(func.count()).where(*_period(record_type, start_at, end_at)))
        or 0,
        done=0,
        matrix={},
        rows=[],
        created_by_id=user_id,
        created_at=utcnow(),
    )
    session.add(test)
    session.flush()
    audit_record(
        session,
        "risk.back_test",
        "risk_back_test",
        test.id,
        {
            "source": label,
            "since": since.isoformat(),
            "until": until.isoformat(),
            "total": test.total,
        },
    )
    if test.total <= INLINE_LIMIT:
        run(session, test)
    return test


def queue(session: Session, back_test_id: uuid.UUID) -> BackTest:
    """Enqueue the job of a back-test ``start`` left queued, once the caller committed it
    (the embedded job store writes in a transaction of its own)."""
    job_id = enqueue(JOB, current().id, str(back_test_id))
    test = get(session, back_test_id)
    test.job_id = job_id
    return test


def _period(record_type: str, since: datetime, until: datetime) -> list[Any]:
    return [
        Decision.record_type == record_type,
        Decision.decided_at >= since,
        Decision.decided_at < until,
    ]


def run(session: Session, test: BackTest, report: Any = None) -> None:
    """Decide every decision of the period again with ``test``'s definition, page by page."""
    compiled = policy.compile_policy(test.definition, test.kinds)
    test.state = "running"
    matrix: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    changed_only = test.total > ROWS_KEPT  # beyond what a page shows, keep what changed
    after: tuple[datetime, uuid.UUID] | None = None
    done = 0
    while True:
        statement = select(Decision).where(*_period(test.record_type, test.since, test.until))
        if after is not None:
            statement = statement.where(
                or_(
                    Decision.decided_at > after[0],
                    and_(Decision.decided_at == after[0], Decision.id > after[1]),
                )
            )
        page = list(
            session.scalars(statement.order_by(Decision.decided_at, Decision.id).limit(BATCH))
        )
        if not page:
            break
        for decision in page:
            values: Mapping[str, Any] = (
                decision.context if decision.context is not None else decision.inputs
            )
            new = compiled.decide(policy.typed(values, test.kinds)).decision
            key = f"{decision.outcome}>{new}"
            matrix[key] = matrix.get(key, 0) + 1
            if len(rows) < ROWS_KEPT and (not changed_only or new != decision.outcome):
                rows.append(
                    {
                        "record_id": str(decision.record_id),
                        "decision_id": str(decision.id),
                        "decided_at": decision.decided_at.isoformat(),
                        "old": decision.outcome,
                        "new": new,
                    }
                )
        done += len(page)
        after = (page[-1].decided_at, page[-1].id)
        for decision in page:  # read only: let the page go
            session.expunge(decision)
        test.done = done
        if report is not None:
            report(done, test.total)
    test.matrix, test.rows, test.done = matrix, rows, done
    test.total = max(test.total, done)
    test.state, test.finished_at = "done", utcnow()
    session.flush()


def back_test_job(ctx: JobContext, back_test_id: str) -> None:
    """The ``risk.back_test`` job: run a queued back-test, reporting progress."""
    test = ctx.session.scalar(select(BackTest).where(BackTest.id == uuid.UUID(back_test_id)))
    if test is None or test.state == "done":
        return
    run(ctx.session, test, ctx.report_progress)


def get(session: Session, back_test_id: uuid.UUID) -> BackTest:
    found = session.scalar(select(BackTest).where(BackTest.id == back_test_id))
    if found is None:
        raise NotFound(N_("There is no such back-test."))
    return found


def recent(session: Session, record_type: str, limit: int = 20) -> list[BackTest]:
    return list(
        session.scalars(
            select(BackTest)
            .where(BackTest.record_type == record_type)
            .order_by(BackTest.created_at.desc(), BackTest.id.desc())
            .limit(limit)
        )
    )


def summary(test: BackTest) -> dict[str, Any]:
    """The matrix as old -> new -> count over the three outcomes, and the approve rates."""
    outcomes = policy.DECISIONS
    grid = {
        old: {new: int(test.matrix.get(f"{old}>{new}", 0)) for new in outcomes} for old in outcomes
    }
    total = sum(sum(row.values()) for row in grid.values())
    old_approved = sum(grid["auto_approve"].values())
    new_approved = sum(grid[old]["auto_approve"] for old in outcomes)
    return {
        "grid": grid,
        "total": total,
        "old_approve_rate": _rate(old_approved, total),
        "new_approve_rate": _rate(new_approved, total),
    }


def _rate(part: int, whole: int) -> str | None:
    """A percentage to one decimal place, as text."""
    if not whole:
        return None
    return str((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP))
