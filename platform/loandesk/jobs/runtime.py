"""The jobs of one app: the registry of job functions, the backend, and how a job is run."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask import Flask, current_app

from loandesk.db import Database
from loandesk.jobs import Backend, JobArg, JobContext, JobError, JobInfo, JobSpec
from loandesk.jobs.schedules import Schedule, Scheduler, TenantClock
from loandesk.jobs.schedules import check as check_schedule
from loandesk.observability import logs, metrics
from loandesk.plugins.host import PluginHost
from loandesk.tenancy import context as tenant_context
from loandesk.tenancy.models import Tenant


class Jobs:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.specs: dict[str, JobSpec] = {}
        self.owner: dict[str, str | None] = {}  # job name → plugin (None: the core)
        self.backend: Backend | None = None
        self.schedules: list[tuple[str | None, Schedule]] = []

    def register(self, spec: JobSpec, plugin: str | None = None) -> None:
        prefix = f"{plugin or 'core'}."
        if not spec.name.startswith(prefix):
            raise JobError(f"job {spec.name!r} must be named {prefix}<job>")
        if spec.name in self.specs:
            raise JobError(f"two jobs are named {spec.name!r}")
        if spec.max_attempts < 1:
            raise JobError(f"job {spec.name!r}: max_attempts must be at least 1")
        self.specs[spec.name] = spec
        self.owner[spec.name] = plugin

    @property
    def queues(self) -> list[str]:
        return sorted({s.queue for s in self.specs.values()})

    def _backend(self) -> Backend:
        if self.backend is None:
            raise JobError("no job backend configured")
        return self.backend

    def enqueue(
        self,
        name: str,
        tenant_id: uuid.UUID | None,
        *args: JobArg,
        delay: timedelta | None = None,
    ) -> str:
        spec = self.specs.get(name)
        if spec is None:
            raise JobError(f"unknown job {name!r}")
        for arg in args:
            if not isinstance(arg, str | int | bool | type(None)):
                raise JobError(f"job {name!r}: arguments are ids and plain values, not {arg!r}")
        return self._backend().enqueue(spec, tenant_id, tuple(args), delay)

    def info(self, job_id: str) -> JobInfo | None:
        return self._backend().info(job_id)

    def dead(self, tenant_id: uuid.UUID | None) -> list[JobInfo]:
        return self._backend().dead(tenant_id)

    def retry(self, job_id: str) -> None:
        self._backend().retry(job_id)


def execute(
    app: Flask,
    job_id: str,
    name: str,
    tenant_id: uuid.UUID | None,
    args: Iterable[Any],
    attempt: int,
    progress: Callable[[int, int], None],
) -> None:
    """Run one job inside ``app``: its tenant current, the session committed on success.

    A plugin's job for a tenant that disabled the plugin (or a suspended tenant) is skipped.
    Log records inside carry the job's id and name; the job is counted in the metrics.
    """
    with _observed(app, job_id, name) as outcome, app.app_context():
        jobs: Jobs = app.extensions["loandesk.jobs"]
        spec = jobs.specs.get(name)
        if spec is None:
            raise JobError(f"unknown job {name!r}")
        ref = None
        outcome[0] = "skipped"  # until it ran
        if tenant_id is not None:
            with jobs.db.transaction() as session:
                tenant = session.get(Tenant, tenant_id)
                ref = tenant.ref() if tenant else None
            if ref is None or not ref.is_active:
                return
        with tenant_context.use(ref):
            session = jobs.db.session()
            try:
                owner = jobs.owner.get(name)
                if owner is not None and ref is not None:
                    from loandesk.plugins import runtime as plugin_runtime

                    if owner not in plugin_runtime.enabled():
                        return
                ctx = JobContext(
                    job_id=job_id, attempt=attempt, tenant=ref, session=session, progress=progress
                )
                spec.function(ctx, *args)
                session.commit()
                outcome[0] = "done"
            except BaseException:
                session.rollback()
                raise
            finally:
                jobs.db.session.remove()


@contextmanager
def _observed(app: Flask, job_id: str, name: str) -> Iterator[list[str]]:
    """The job's log context, then its count and duration: how it ended is what the block
    left in the list (``skipped``, ``done``), ``error`` if it raised."""
    started, outcome = time.perf_counter(), ["error"]
    try:
        with logs.job_context(job_id, name):
            yield outcome
    except BaseException:
        outcome[0] = "error"
        raise
    finally:
        if name in app.extensions["loandesk.jobs"].specs:
            metrics.job_finished(name, outcome[0], time.perf_counter() - started)


def jobs() -> Jobs:
    registry: Jobs = current_app.extensions["loandesk.jobs"]
    return registry


def enqueue(
    name: str, tenant_id: uuid.UUID | None, *args: JobArg, delay: timedelta | None = None
) -> str:
    """Enqueue job ``name`` for ``tenant_id`` (None for platform jobs); returns the job id."""
    return jobs().enqueue(name, tenant_id, *args, delay=delay)


def init_app(app: Flask, db: Database, redis_url: str, plugin_host: PluginHost) -> Jobs:
    """Set up the app's jobs and events: the core's and every plugin's, and the backend."""
    from loandesk import core_jobs, events
    from loandesk.jobs.database import DatabaseBackend
    from loandesk.plugins.host import PluginError

    registry = Jobs(db)
    for spec in core_jobs.JOBS:
        registry.register(spec)
    types = {t.name: t for t in core_jobs.EVENT_TYPES}
    handlers: list[tuple[str, events.EventHandler]] = [
        (events.CORE, handler) for handler in core_jobs.EVENT_HANDLERS
    ]
    for name, contribution in plugin_host.contributions.items():
        for spec in contribution.jobs:
            registry.register(spec, plugin=name)
        for event_type in contribution.event_types:
            if event_type.name in types:
                raise PluginError(f"plugin {name!r}: event {event_type.name!r} exists already")
            types[event_type.name] = event_type
    for name, contribution in plugin_host.contributions.items():
        for handler in contribution.event_handlers:
            if handler.event not in types:
                if handler.optional:  # the plugin that emits it is not installed
                    continue
                raise PluginError(f"plugin {name!r} handles unknown event {handler.event!r}")
            handlers.append((name, handler))
    registry.schedules = [(None, schedule) for schedule in core_jobs.SCHEDULES]
    for name, contribution in plugin_host.contributions.items():
        registry.schedules.extend((name, schedule) for schedule in contribution.schedules)
    for _plugin, schedule in registry.schedules:
        try:
            check_schedule(schedule, set(registry.specs))
        except JobError as exc:
            raise PluginError(str(exc)) from None
    if redis_url:
        from loandesk.jobs.rq_backend import RQBackend

        registry.backend = RQBackend(redis_url, registry.specs)
    else:
        registry.backend = DatabaseBackend(db, registry.specs)
    app.extensions["loandesk.jobs"] = registry
    app.extensions["loandesk.events"] = events.EventRegistry(types=types, handlers=handlers)
    events.install_delivery_trigger(
        db.session_factory, lambda tenant_id: registry.enqueue("core.deliver_events", tenant_id)
    )
    from loandesk.automations.engine import install_run_trigger

    install_run_trigger(
        db.session_factory, lambda tenant_id: registry.enqueue("core.run_firings", tenant_id)
    )
    from loandesk.notifications.service import install_send_trigger

    install_send_trigger(
        db.session_factory, lambda tenant_id: registry.enqueue("core.send_messages", tenant_id)
    )
    from loandesk.webhooks.service import install_send_trigger as install_webhook_trigger

    install_webhook_trigger(
        db.session_factory, lambda tenant_id: registry.enqueue("core.send_webhooks", tenant_id)
    )
    return registry


def scheduler(app: Flask) -> Scheduler:
    """The scheduler of ``app``: its schedules, its tenants' clocks, its job backend."""
    from loandesk.plugins import service as plugin_service
    from loandesk.plugins.runtime import EnabledCache

    registry: Jobs = app.extensions["loandesk.jobs"]
    enabled_cache = EnabledCache()

    def tenant_clocks() -> list[TenantClock]:
        from sqlalchemy import select

        with registry.db.transaction() as session:
            rows = [
                t.ref() for t in session.scalars(select(Tenant).where(Tenant.status == "active"))
            ]
        clocks = []
        for ref in rows:
            names = enabled_cache.get(ref.id, ref.plugins_version)
            if names is None:
                with tenant_context.use(ref), registry.db.transaction() as session:
                    names = plugin_service.enabled_names(session)
                enabled_cache.put(ref.id, ref.plugins_version, names)
            clocks.append(TenantClock(id=ref.id, timezone=ref.timezone, enabled_plugins=names))
        return clocks

    return Scheduler(registry.db, registry.schedules, tenant_clocks, registry.enqueue)
