"""Close of business (日终批处理): bring a tenant's active loans to a new business date — mark
installments due and overdue, count days past due (DPD), accrue penalty interest (罚息), sort
loans into DPD buckets and emit the events automations and collections listen to. No Flask.

The work is set-based: loans are taken in chunks by id, and each chunk is a handful of SQL
statements over all its loans (``cob_sql``), committed together with the run's checkpoint.
Every statement takes only loans whose ``cob_date`` is before the business date and sets it
in the same transaction, so a chunk is applied at most once: a crashed run resumes after its
checkpoint, a second run for the same date finds nothing to do, and a run after days without
one catches the loans up in one step (its arithmetic does not depend on how many days it
covers). Only the loans with work on the date are taken (``cob_sql._with_work``: an
installment owed and due by then, one still counting days past due, arrears on the loan);
the others are not written. The definitions (DPD, penalty segments and rounding, buckets)
are in docs/repayment.md, "Close of business".

A loan's row is locked (``FOR UPDATE``) for its chunk exactly as ``loans.lock`` locks it for a
payment, so a payment and close of business on one loan follow each other: whichever takes
the lock first is applied first and the other reads its result. No request is refused.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_, Conflict
from loandesk_repayment import cob_credit, cob_ledger, cob_positions, cob_settings, cob_sql
from loandesk_repayment.checks import local_today, refuse
from loandesk_repayment.cob_models import CobRun

JOB = "repayment.cob"
CHUNK = 500
LOCK_RETRIES = 5  # a chunk that cannot take its loans' locks (deadlock, timeout) tries again
# Per run (one call of ``run_cob``), never per tenant: the labels stay bounded.
COB_DURATION = sdk.metric_histogram(
    "loandesk_cob_duration_seconds",
    "Time one close-of-business run (or resumed attempt) took, by how it ended.",
    ("outcome",),
    buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200),
)
COB_LOANS = sdk.metric_counter(
    "loandesk_cob_loans_processed_total", "Loans brought to a new business date."
)


def business_date(session: Session) -> dt.date | None:
    """The tenant's business date: the latest date close of business finished (None: never)."""
    found: dt.date | None = session.scalar(
        select(func.max(CobRun.business_date)).where(CobRun.state == "done")
    )
    return found


def runs(session: Session, *, limit: int = 50, offset: int = 0) -> list[CobRun]:
    return list(
        session.scalars(
            select(CobRun).order_by(CobRun.business_date.desc()).limit(limit).offset(offset)
        )
    )


def get_run(session: Session, day: dt.date, *, lock: bool = False) -> CobRun | None:
    """The run of ``day``; ``lock``: locked for the transaction (two workers of one run
    follow each other)."""
    query = select(CobRun).where(CobRun.business_date == day)
    if lock:
        query = query.with_for_update()
    found: CobRun | None = session.scalar(query.execution_options(populate_existing=True))
    return found


def start(
    session: Session,
    day: dt.date,
    *,
    requested_by: uuid.UUID | None = None,
    buckets: list[cob_settings.Bucket] | None = None,
    count: bool = True,
    lock: bool = False,
    audit: list[sdk.AuditEntry] | None = None,
) -> CobRun:
    """The run of ``day``, made if there is none (the caller commits). Asking again for a
    date already run answers its run; a date after today, or before the latest run, is
    refused (the business date does not go back). Unfinished runs of earlier dates are
    ``superseded``: this one takes their loans too. ``count`` False: the loans to take are
    counted by the run's first chunk (``_chunk``), not here. ``lock``: the run answered is
    locked for the transaction. ``audit``: its audit event is added to the list (the caller
    records it) rather than recorded."""
    if day > local_today():
        raise refuse("business_date", N_("Enter a date that is not in the future."))
    existing = get_run(session, day, lock=lock)
    if existing is not None:
        return existing
    latest, unfinished = session.execute(
        select(func.max(CobRun.business_date), func.count().filter(CobRun.state == "running"))
    ).one()
    if latest is not None and latest > day:
        raise Conflict(
            N_("Close of business has run for %(date)s already; it cannot go back."),
            params={"date": latest.isoformat()},
        )
    run = CobRun(
        business_date=day,
        previous_date=latest,
        state="running",
        loans_total=cob_sql.count_due(session, day, buckets) if count else 0,
        loans_done=0,
        chunks_done=0,
        installments_overdue=0,
        bucket_changes=0,
        penalty_posted=Decimal("0.00"),
        attempts=0,
        requested_by_id=requested_by,
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        found = get_run(session, day, lock=lock)  # another worker made it at the same moment
        if found is None:
            raise
        return found
    superseded = 0
    if unfinished:  # earlier runs left running (the new one is not counted: made after)
        result = session.execute(
            update(CobRun)
            .where(CobRun.business_date < day, CobRun.state == "running")
            .values(state="superseded", finished_at=sdk.utcnow())
            .execution_options(synchronize_session=False)
        )
        superseded = int(getattr(result, "rowcount", 0) or 0)
    entry = sdk.AuditEntry(
        "cob.start",
        "cob_run",
        run.id,
        {
            "business_date": day.isoformat(),
            **({"loans": run.loans_total} if count else {}),
            "superseded": superseded,
        },
    )
    if audit is None:
        sdk.audit_record_many(session, [entry])
    else:
        audit.append(entry)
    return run


def run_cob(
    session: Session,
    day: dt.date,
    *,
    commit: Callable[[], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    requested_by: uuid.UUID | None = None,
    chunk_size: int = CHUNK,
) -> CobRun:
    """Close of business for ``day``: start (or resume) its run and take its loans chunk by
    chunk, each committed with the checkpoint by ``commit`` (default ``session.commit``).
    A finished or superseded run is answered as it is."""
    commit = commit or session.commit
    buckets = cob_settings.buckets()  # the tenant's setting, read once per run
    rules: dict[tuple[uuid.UUID, int], cob_sql.PenaltyRule | None] = {}
    chunks, first, started, outcome = 0, True, time.perf_counter(), "error"
    try:
        while True:
            run, taken = _chunk_with_retries(
                session, day, buckets, rules, chunk_size, requested_by=requested_by, first=first
            )
            commit()
            COB_LOANS.inc(taken)
            first = False
            if progress is not None and run.chunks_done != chunks:
                progress(run.loans_done, max(run.loans_total, run.loans_done))
            if run.state != "running":
                outcome = run.state  # done, or superseded by a later date's run
                return run
            chunks = run.chunks_done
    finally:
        COB_DURATION.labels(outcome).observe(time.perf_counter() - started)


def _chunk_with_retries(
    session: Session,
    day: dt.date,
    buckets: list[cob_settings.Bucket],
    rules: dict[tuple[uuid.UUID, int], cob_sql.PenaltyRule | None],
    size: int,
    *,
    requested_by: uuid.UUID | None,
    first: bool,
) -> tuple[CobRun, int]:
    """One chunk in the session's transaction (the caller commits); the run after it, done
    when no loan is left, and how many loans it took. A deadlock or lock timeout rolls the
    chunk back and tries again."""
    for attempt in range(LOCK_RETRIES):
        try:
            return _chunk(session, day, buckets, rules, size, requested_by, first)
        except OperationalError:
            session.rollback()
            if attempt == LOCK_RETRIES - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _chunk(
    session: Session,
    day: dt.date,
    buckets: list[cob_settings.Bucket],
    rules: dict[tuple[uuid.UUID, int], cob_sql.PenaltyRule | None],
    size: int,
    requested_by: uuid.UUID | None,
    first: bool,
) -> tuple[CobRun, int]:
    """The run's next chunk of loans, then the checkpoint, in one transaction that begins by
    locking the run (made by the first: a run is started with its first chunk); the run is
    finished in the same transaction when no loan is left. The loans are taken by id after
    the checkpoint; once none is left there, the loans behind it (activated or reopened by a
    reversal while the run went on) are looked for, until none is left either. A run's first
    chunk that is not full took every loan with work (none is behind a checkpoint it never
    had): the run finishes with it, so a tenant whose loans with work fit in one chunk closes
    in one transaction. ``first``: the first transaction of this attempt (the job's, or a
    call's), which counts it in ``attempts``. Answers the run and how many loans it took."""
    cob_sql.set_lock_timeout(session)
    audit: list[sdk.AuditEntry] = []  # recorded together at the end
    run = start(
        session, day, requested_by=requested_by, buckets=buckets, count=False, lock=True,
        audit=audit,
    )  # fmt: skip
    if run.state != "running":
        return run, 0
    current = buckets[0].name
    opening = run.chunks_done == 0
    loans = cob_sql.lock_chunk(session, day, run.last_loan_id, size, current)
    behind = not loans and run.last_loan_id is not None
    if behind:
        loans = cob_sql.lock_chunk(session, day, None, size, current)
    total = run.loans_total
    if opening and not total:  # counted here rather than at the start: a read fewer
        full = len(loans) == size
        total = cob_sql.count_due(session, day, buckets) if full else len(loans)
    if loans:
        audit.extend(_take(session, run, day, loans, buckets, rules, behind))
    # the run's row is changed only now, so that it is written once, with the audit events
    run.loans_total = total
    if first:
        run.attempts += 1
    if not loans or (opening and len(loans) < size):
        audit.append(_finish(run, day))
    run.updated_at = sdk.utcnow()
    sdk.audit_record_many(session, audit)
    session.flush()
    return run, len(loans)


def _take(
    session: Session,
    run: CobRun,
    day: dt.date,
    loans: list[cob_sql.ChunkLoan],
    buckets: list[cob_settings.Bucket],
    rules: dict[tuple[uuid.UUID, int], cob_sql.PenaltyRule | None],
    behind: bool,
) -> list[sdk.AuditEntry]:
    """Bring the chunk's locked ``loans`` to ``day``: credit, the SQL, events, the run's
    counts; its audit event (none when nothing was charged, moved or paid)."""
    for key in {(row.product_id, row.product_version) for row in loans}:
        if key not in rules:
            rules[key] = cob_sql.penalty_rule(session, *key)
    orders = {
        (row.product_id, row.product_version): cob_sql.allocation_order(
            session, row.product_id, row.product_version
        )
        for row in loans
        if row.credit_balance > 0
    }
    credit = cob_credit.apply_credit(session, day, loans, orders).by_loan  # before overdue
    outcome = cob_sql.apply(session, day, loans, rules, buckets)
    cob_ledger.book_penalties(session, day, outcome.penalty_by_loan)
    ids = [row.id for row in loans]
    payload = {"business_date": day.isoformat()}
    sdk.emit_many(session, "installment.due", "installment", outcome.due_installments, payload)
    sdk.emit_many(
        session, "installment.overdue", "installment", outcome.overdue_installments, payload
    )
    for (old, new), loan_ids in sorted(outcome.bucket_changes.items()):
        sdk.emit_many(
            session, "loan.bucket_changed", "loan", loan_ids, {"from": old, "to": new, **payload}
        )
    moved = {i for loan_ids in outcome.bucket_changes.values() for i in loan_ids}
    if (outcome.in_arrears or moved) and sdk.hook_implemented("loandesk_loan_positions"):
        previous = {row.id: row.bucket for row in loans}
        wanted = sorted(moved | set(outcome.in_arrears))
        sdk.loan_positions_moved(
            session, cob_positions.positions(session, day, wanted, previous, "cob")
        )
    audit = []
    if outcome.penalty_by_loan or outcome.bucket_changes or credit:
        changed = set(outcome.penalty_by_loan) | set(credit) | moved
        audit.append(
            sdk.AuditEntry(
                "loan.cob",
                "loan",
                None,
                {
                    "business_date": day.isoformat(),
                    "records": sorted(str(i) for i in changed),
                    "penalty": str(sum(outcome.penalty_by_loan.values(), Decimal("0.00"))),
                    "bucket_changes": sum(len(v) for v in outcome.bucket_changes.values()),
                    "credit_applied": str(sum(credit.values(), Decimal("0.00"))),
                },
            )
        )
    if not behind:
        run.last_loan_id = ids[-1]
    run.loans_done += len(ids)
    run.chunks_done += 1
    run.installments_overdue += len(outcome.overdue_installments)
    run.bucket_changes += sum(len(v) for v in outcome.bucket_changes.values())
    run.penalty_posted += sum(outcome.penalty_by_loan.values(), Decimal("0.00"))
    return audit


def _finish(run: CobRun, day: dt.date) -> sdk.AuditEntry:
    run.state, run.finished_at = "done", sdk.utcnow()
    return sdk.AuditEntry(
        "cob.finish",
        "cob_run",
        run.id,
        {
            "business_date": day.isoformat(),
            "loans": run.loans_done,
            "installments_overdue": run.installments_overdue,
            "bucket_changes": run.bucket_changes,
            "penalty_posted": str(run.penalty_posted),
        },
    )


def cob_job(ctx: sdk.JobContext, business_date: str | None = None) -> None:
    """The ``repayment.cob`` job: close of business for ``business_date`` (ISO; None: the
    tenant's today, which is what the midnight schedule sends). A retried attempt resumes
    the run where the last one committed."""
    day = dt.date.fromisoformat(business_date) if business_date else local_today()
    run_cob(ctx.session, day, commit=ctx.session.commit, progress=ctx.report_progress)


def queue(session: Session, day: Any, *, requested_by: uuid.UUID) -> CobRun:
    """Start close of business for ``day`` by hand (an admin's "run for date X"): the run is
    made now (the caller commits, then ``enqueue``); asking again for a date answers the
    same run and queues nothing new once it is done."""
    try:
        wanted = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day).strip())
    except ValueError:
        raise refuse("business_date", N_("Enter a date such as 2026-01-31.")) from None
    return start(session, wanted, requested_by=requested_by)


def enqueue(run: CobRun) -> str:
    return sdk.enqueue(JOB, sdk.current().id, run.business_date.isoformat())
