"""Background jobs (DESIGN §7, STYLE "Jobs"): one way to enqueue work, whatever runs it.

Production runs rq on Redis (``loandesk worker``); the embedded mode keeps jobs in the database
and runs them in a thread or in ``loandesk worker`` — the same job functions, the same retries.
A job function takes a ``JobContext`` and plain arguments (ids, numbers, strings): never live
objects. Its tenant is set, its database session open, and it is committed when it returns.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from loandesk.tenancy.context import TenantRef

JobArg = str | int | bool | None


@dataclass(frozen=True)
class JobSpec:
    """A job function and how to run it. ``name`` is ``<plugin>.<job>`` (``core.<job>`` for the
    core's own); a plugin's jobs run only for tenants that have it enabled."""

    name: str
    function: Callable[..., Any]
    queue: str = "default"
    max_attempts: int = 3
    backoff: tuple[int, ...] = (10, 60, 300)  # seconds before the 2nd, 3rd, ... attempt
    timeout: int = 600

    def delay_before(self, attempt: int) -> int:
        """Seconds to wait before ``attempt`` (2 = the first retry)."""
        index = min(attempt - 2, len(self.backoff) - 1)
        return self.backoff[index] if self.backoff and index >= 0 else 0


class JobContext:
    """What a running job gets besides its arguments."""

    def __init__(
        self,
        *,
        job_id: str,
        attempt: int,
        tenant: TenantRef | None,
        session: Session,
        progress: Callable[[int, int], None],
    ) -> None:
        self.job_id = job_id
        self.attempt = attempt
        self.tenant = tenant
        self.session = session
        self._progress = progress

    def report_progress(self, done: int, total: int) -> None:
        """Tell the UI how far a long job is (shown as a progress bar)."""
        self._progress(done, total)


@dataclass(frozen=True)
class JobInfo:
    id: str
    name: str
    tenant_id: uuid.UUID | None
    state: str  # queued, running, done, failed (will retry), dead (out of attempts)
    attempts: int
    progress_done: int
    progress_total: int
    error: str | None
    created_at: datetime | None


class Backend(Protocol):
    def enqueue(
        self,
        spec: JobSpec,
        tenant_id: uuid.UUID | None,
        args: tuple[JobArg, ...],
        delay: timedelta | None,
    ) -> str: ...

    def info(self, job_id: str) -> JobInfo | None: ...

    def dead(self, tenant_id: uuid.UUID | None) -> list[JobInfo]: ...

    def retry(self, job_id: str) -> None: ...


class JobError(Exception):
    """A job cannot be enqueued (unknown name, bad arguments)."""
