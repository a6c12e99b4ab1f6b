"""Jobs on Redis with rq (production): ``loandesk worker`` runs them, with rq's scheduler for
delayed jobs and retries. rq calls ``run_rq_job`` by name in the worker process, whose app the
worker command set up; the job's tenant, name and attempt travel as plain values."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import Flask
from redis import Redis
from rq import Queue, Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from rq.registry import FailedJobRegistry

from loandesk.db import uuid7
from loandesk.jobs import JobArg, JobInfo, JobSpec
from loandesk.jobs.runtime import execute

_STATES = {
    "queued": "queued",
    "scheduled": "queued",
    "deferred": "queued",
    "started": "running",
    "finished": "done",
    "failed": "dead",
    "stopped": "dead",
    "canceled": "dead",
}
# The app of this worker process (set by ``loandesk worker`` before it starts working).
_worker: dict[str, Flask] = {}


def set_worker_app(app: Flask) -> None:
    _worker["app"] = app


class RQBackend:
    def __init__(self, redis_url: str, specs: dict[str, JobSpec]) -> None:
        self.redis = Redis.from_url(redis_url)
        self.specs = specs

    def queue(self, name: str) -> Queue:
        return Queue(name, connection=self.redis)

    def enqueue(
        self,
        spec: JobSpec,
        tenant_id: uuid.UUID | None,
        args: tuple[JobArg, ...],
        delay: timedelta | None,
    ) -> str:
        job_id = str(uuid7())
        options: dict[str, Any] = {
            "job_id": job_id,
            "job_timeout": spec.timeout,
            "failure_ttl": 30 * 24 * 3600,
            "meta": {
                "tenant_id": str(tenant_id) if tenant_id else None,
                "name": spec.name,
                "max_attempts": spec.max_attempts,
                "progress": [0, 0],
            },
        }
        if spec.max_attempts > 1:
            options["retry"] = Retry(max=spec.max_attempts - 1, interval=list(spec.backoff) or 0)
        call_args = (spec.name, str(tenant_id) if tenant_id else None, list(args))
        queue = self.queue(spec.queue)
        if delay:
            queue.enqueue_in(delay, run_rq_job, *call_args, **options)
        else:
            queue.enqueue(run_rq_job, *call_args, **options)
        return job_id

    def info(self, job_id: str) -> JobInfo | None:
        try:
            job = RQJob.fetch(job_id, connection=self.redis)
        except NoSuchJobError:
            return None
        return _info(job)

    def dead(self, tenant_id: uuid.UUID | None) -> list[JobInfo]:
        wanted = str(tenant_id) if tenant_id else None
        result = []
        for queue_name in sorted({s.queue for s in self.specs.values()}):
            registry = FailedJobRegistry(queue_name, connection=self.redis)
            for job in RQJob.fetch_many(registry.get_job_ids(), connection=self.redis):
                if job is not None and job.meta.get("tenant_id") == wanted:
                    result.append(_info(job))
        return result

    def retry(self, job_id: str) -> None:
        job = RQJob.fetch(job_id, connection=self.redis)
        FailedJobRegistry(job.origin, connection=self.redis).requeue(job_id)


def _info(job: RQJob) -> JobInfo:
    status = job.get_status(refresh=True)
    state = _STATES.get(str(getattr(status, "value", status)), "queued")
    if state == "queued" and (job.retries_left or 0) < job.meta.get("max_attempts", 1) - 1:
        state = "failed"  # waiting for a retry
    done, total = job.meta.get("progress", [0, 0])
    result = job.latest_result()
    error = None
    if result is not None and result.exc_string:
        error = result.exc_string.strip().splitlines()[-1][:1000]
    return JobInfo(
        id=job.id,
        name=job.meta.get("name", ""),
        tenant_id=_uuid(job.meta.get("tenant_id")),
        state=state,
        attempts=_attempt(job),
        progress_done=done,
        progress_total=total,
        error=error,
        created_at=job.created_at,
    )


def _attempt(job: RQJob) -> int:
    max_attempts = int(job.meta.get("max_attempts", 1))
    retries_left = job.retries_left if job.retries_left is not None else max_attempts - 1
    return max_attempts - retries_left


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


def run_rq_job(name: str, tenant_id: str | None, args: list[Any]) -> None:
    """What rq runs: the job ``name`` through the same ``execute`` as the embedded mode."""
    app = _worker.get("app")
    if app is None:
        raise RuntimeError("run by 'loandesk worker', which sets up the app")
    job = get_current_job()
    job_id = job.id if job else str(uuid7())
    attempt = _attempt(job) if job else 1

    def progress(done: int, total: int) -> None:
        if job is not None:
            job.meta["progress"] = [done, total]
            job.save_meta()

    execute(app, job_id, name, _uuid(tenant_id), args, attempt, progress)
