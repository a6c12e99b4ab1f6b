"""Jobs kept in the database: the embedded mode's backend (rq cannot run without Redis).

A worker claims a job with one atomic UPDATE (so two workers never take the same job), runs it,
and marks it done, failed (to be retried after the spec's backoff) or dead (out of attempts).
A job whose worker died is claimed again once its lock expires: redelivered, not lost.
"""

from __future__ import annotations

import functools
import secrets
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, Uuid, select, update
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, Database, UTCDateTime, utcnow, uuid7
from loandesk.jobs import JobArg, JobInfo, JobSpec

RETRYABLE = ("queued", "failed")


class Job(Base):
    """A platform table: one worker serves every tenant; ``tenant_id`` says whose job it is."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "state", "queue", "run_after"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    name: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(40))
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim: Mapped[str | None] = mapped_column(String(32))
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def info(self) -> JobInfo:
        return JobInfo(
            id=self.id,
            name=self.name,
            tenant_id=self.tenant_id,
            state=self.state,
            attempts=self.attempts,
            progress_done=self.progress_done,
            progress_total=self.progress_total,
            error=self.error,
            created_at=self.created_at,
        )


Runner = Callable[[str, str, uuid.UUID | None, list[Any], int, Callable[[int, int], None]], None]


class DatabaseBackend:
    def __init__(self, db: Database, specs: dict[str, JobSpec]) -> None:
        self.db = db
        self.specs = specs

    def enqueue(
        self,
        spec: JobSpec,
        tenant_id: uuid.UUID | None,
        args: tuple[JobArg, ...],
        delay: timedelta | None,
    ) -> str:
        job_id = str(uuid7())
        with self.db.transaction() as session:
            session.add(
                Job(
                    id=job_id,
                    tenant_id=tenant_id,
                    name=spec.name,
                    queue=spec.queue,
                    args=list(args),
                    state="queued",
                    attempts=0,
                    max_attempts=spec.max_attempts,
                    run_after=utcnow() + (delay or timedelta()),
                    progress_done=0,
                    progress_total=0,
                )
            )
        return job_id

    def info(self, job_id: str) -> JobInfo | None:
        with self.db.transaction() as session:
            job = session.get(Job, job_id)
            return job.info() if job else None

    def dead(self, tenant_id: uuid.UUID | None) -> list[JobInfo]:
        with self.db.transaction() as session:
            rows = session.scalars(
                select(Job)
                .where(Job.state == "dead", Job.tenant_id == tenant_id)
                .order_by(Job.created_at.desc())
                .limit(200)
            )
            return [r.info() for r in rows]

    def retry(self, job_id: str) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == "dead")
                .values(state="queued", attempts=0, run_after=utcnow(), error=None)
            )

    # --- the worker side ------------------------------------------------------------------

    def claim(self, queues: list[str], now: datetime | None = None) -> Job | None:
        """Take the next due job of ``queues`` (or one whose worker died) in one statement."""
        now = now or utcnow()
        token = secrets.token_hex(16)
        due = (
            select(Job.id)
            .where(Job.queue.in_(queues), Job.run_after <= now)
            .where(Job.state.in_(RETRYABLE) | ((Job.state == "running") & (Job.locked_until < now)))
            .order_by(Job.run_after, Job.id)
            .limit(1)
        )
        if self.db.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        with self.db.transaction() as session:
            claimed = session.execute(
                update(Job)
                .where(Job.id == due.scalar_subquery())
                .values(
                    state="running",
                    claim=token,
                    attempts=Job.attempts + 1,
                    locked_until=now + timedelta(seconds=self._timeout_of(queues)),
                )
                .execution_options(synchronize_session=False)
            )
            if not getattr(claimed, "rowcount", 0):
                return None
            job = session.scalar(select(Job).where(Job.claim == token))
            if job is not None:
                spec = self.specs.get(job.name)
                if spec is not None:
                    job.locked_until = now + timedelta(seconds=spec.timeout)
            return job

    def _timeout_of(self, queues: list[str]) -> int:
        return max((s.timeout for s in self.specs.values() if s.queue in queues), default=600)

    def progress(self, job_id: str, done: int, total: int) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(Job).where(Job.id == job_id).values(progress_done=done, progress_total=total)
            )

    def finish(self, job: Job, error: BaseException | None) -> None:
        now = utcnow()
        values: dict[str, Any]
        if error is None:
            values = {"state": "done", "finished_at": now, "error": None, "locked_until": None}
        else:
            text = f"{type(error).__name__}: {error}"[:1000]
            spec = self.specs.get(job.name)
            if spec is not None and job.attempts < job.max_attempts:
                delay = spec.delay_before(job.attempts + 1)
                values = {
                    "state": "failed",
                    "error": text,
                    "locked_until": None,
                    "run_after": now + timedelta(seconds=delay),
                }
            else:
                values = {"state": "dead", "error": text, "locked_until": None, "finished_at": now}
        with self.db.transaction() as session:
            session.execute(
                update(Job).where(Job.id == job.id, Job.claim == job.claim).values(**values)
            )

    def work(
        self,
        run: Runner,
        queues: list[str],
        *,
        stop: threading.Event | None = None,
        burst: bool = False,
        poll_interval: float = 1.0,
        now: Callable[[], datetime] = utcnow,
    ) -> int:
        """Run jobs until ``stop`` is set (or, with ``burst``, until none is due). Returns how
        many ran."""
        stop = stop or threading.Event()
        count = 0
        while not stop.is_set():
            job = self.claim(queues, now())
            if job is None:
                if burst:
                    break
                stop.wait(poll_interval)
                continue
            error: BaseException | None = None
            progress = functools.partial(self.progress, job.id)
            try:
                run(job.id, job.name, job.tenant_id, list(job.args), job.attempts, progress)
            except Exception as exc:  # a failing job is recorded and retried, never fatal
                error = exc
            self.finish(job, error)
            count += 1
        return count
