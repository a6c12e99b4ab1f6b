"""Periodic jobs: cron expressions evaluated in each tenant's timezone (DESIGN §5: "daily"
means the tenant's local day).

``Scheduler.tick(now)`` finds, for every schedule and tenant, the latest due time at or before
``now``; it enqueues the job when that time is newer than the last one fired. The claim is one
conditional UPDATE of ``schedule_state``, so two schedulers running at once fire a period once.
A schedule seen for the first time (a new tenant, a newly enabled plugin) starts from the
current period without firing it; periods missed while no scheduler ran are caught up once
(the latest only), never one run per missed period.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import String, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, Database, UTCDateTime, utcnow
from loandesk.jobs import JobArg, JobError

PLATFORM = "platform"  # the tenant key of schedules that run once, not per tenant


@dataclass(frozen=True)
class Schedule:
    """Run job ``job`` whenever ``cron`` (5 fields, tenant-local time) comes due: for every
    tenant (that enabled the owning plugin) when ``per_tenant``, else once for the platform
    in UTC. ``name`` is ``<plugin>.<schedule>`` (``core.<schedule>`` for the core's)."""

    name: str
    cron: str
    job: str
    args: tuple[JobArg, ...] = ()
    per_tenant: bool = True


class ScheduleState(Base):
    __tablename__ = "schedule_state"

    schedule: Mapped[str] = mapped_column(String(100), primary_key=True)
    tenant_key: Mapped[str] = mapped_column(String(36), primary_key=True)
    last_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class TenantClock:
    id: uuid.UUID
    timezone: str
    enabled_plugins: frozenset[str]


def latest_due(cron: str, now: datetime, timezone: str) -> datetime:
    """The latest time ``cron`` came due at or before ``now``, evaluated in ``timezone``."""
    local = (now + timedelta(seconds=1)).astimezone(ZoneInfo(timezone))
    due: datetime = croniter(cron, local).get_prev(datetime)
    return due.astimezone(UTC)


def check(schedule: Schedule, job_names: set[str]) -> None:
    if not croniter.is_valid(schedule.cron) or len(schedule.cron.split()) != 5:
        raise JobError(f"schedule {schedule.name!r}: {schedule.cron!r} is not a 5-field cron")
    if schedule.job not in job_names:
        raise JobError(f"schedule {schedule.name!r} runs unknown job {schedule.job!r}")
    if schedule.name.split(".", 1)[0] != schedule.job.split(".", 1)[0]:
        raise JobError(f"schedule {schedule.name!r} must run a job of its own plugin")


class Scheduler:
    def __init__(
        self,
        db: Database,
        schedules: list[tuple[str | None, Schedule]],  # (owning plugin or None, schedule)
        tenants: Callable[[], list[TenantClock]],
        enqueue: Callable[..., str],
    ) -> None:
        self.db = db
        self.schedules = schedules
        self.tenants = tenants
        self.enqueue = enqueue

    def tick(self, now: datetime | None = None) -> list[tuple[str, uuid.UUID | None, datetime]]:
        """Fire what is due at ``now``; returns (schedule, tenant, due time) of each firing."""
        now = now or utcnow()
        with self.db.transaction() as session:
            last = {
                (r.schedule, r.tenant_key): r.last_due_at
                for r in session.scalars(select(ScheduleState))
            }
        fired = []
        tenants = self.tenants()
        for plugin, schedule in self.schedules:
            if not schedule.per_tenant:
                targets: list[tuple[uuid.UUID | None, str]] = [(None, "UTC")]
            else:
                targets = [
                    (t.id, t.timezone)
                    for t in tenants
                    if plugin is None or plugin in t.enabled_plugins
                ]
            for tenant_id, timezone in targets:
                due = latest_due(schedule.cron, now, timezone)
                key = (schedule.name, str(tenant_id) if tenant_id else PLATFORM)
                previous = last.get(key)
                if previous is not None and previous >= due:
                    continue
                if self._claim(key, due, previous, now):
                    self.enqueue(schedule.job, tenant_id, *schedule.args)
                    fired.append((schedule.name, tenant_id, due))
        return fired

    def _claim(
        self, key: tuple[str, str], due: datetime, previous: datetime | None, now: datetime
    ) -> bool:
        """True when this scheduler won the right to fire ``due`` (and it should fire)."""
        schedule, tenant_key = key
        with self.db.transaction() as session:
            if previous is None:
                # first sight: start from this period, do not fire it
                insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
                session.execute(
                    insert(ScheduleState)
                    .values(schedule=schedule, tenant_key=tenant_key, last_due_at=due)
                    .on_conflict_do_nothing(index_elements=["schedule", "tenant_key"])
                )
                return False
            claimed = session.execute(
                update(ScheduleState)
                .where(
                    ScheduleState.schedule == schedule,
                    ScheduleState.tenant_key == tenant_key,
                    ScheduleState.last_due_at < due,
                )
                .values(last_due_at=due, fired_at=now)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(claimed, "rowcount", 0))

    def run(self, stop: threading.Event, interval: float = 20.0) -> None:
        """Tick until ``stop`` is set."""
        while not stop.is_set():
            self.tick()
            stop.wait(interval)
