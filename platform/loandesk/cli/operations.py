"""``loandesk db|serve|worker|scheduler|demo``: running LoanDesk."""

from __future__ import annotations

import functools
import os
import secrets
import signal
import threading
from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext

from loandesk import extension, migrate
from loandesk.cli import cli, domain_failure, echo_json
from loandesk.errors import DomainError
from loandesk.pii import logfilter
from loandesk.tenancy.paths import page_path

DEMO_SLUG = "demo"
DEMO_ADMIN = "admin@demo.loandesk.local"
DEMO_SEED = 20260101

# --- database ------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version."""
    from loandesk.plugins import runtime

    settings = extension.get().settings
    migrate.upgrade(settings, runtime.host().migration_folders())
    click.echo(f"database at {', '.join(sorted(migrate.current_heads(settings)))}")


@db.command("status")
@with_appcontext
def db_status() -> None:
    """Compare the database's schema with this code's migrations, changing nothing; exit 0
    when it is up to date, 1 when `loandesk db upgrade` has revisions to apply or the
    database is at revisions this code does not know (a newer release)."""
    from loandesk.plugins import runtime

    settings = extension.get().settings
    found = migrate.status(settings, runtime.host().migration_folders())
    click.echo(f"database at: {', '.join(sorted(found.database)) or '(no schema)'}")
    click.echo(f"code at:     {', '.join(sorted(found.code))}")
    if found.unknown:
        click.echo(
            f"the database is at revisions this code does not have: "
            f"{', '.join(sorted(found.unknown))} (a newer release migrated it)"
        )
        raise SystemExit(1)
    if found.pending:
        click.echo(f"{len(found.pending)} to apply: {', '.join(found.pending)}")
        click.echo("run: loandesk db upgrade")
        raise SystemExit(1)
    click.echo("up to date")


# --- serving -------------------------------------------------------------------------------


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--workers", default=2, type=int, show_default=True, help="gunicorn workers")
@with_appcontext
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web UI and the API (gunicorn in production, the dev server when embedded)."""
    _serve(host, port, workers)


def _serve(host: str, port: int, workers: int = 2) -> None:
    from flask import current_app

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if extension.get().settings.is_embedded:
        # run_simple, not app.run: Flask ignores app.run() inside its own CLI.
        from werkzeug.serving import run_simple

        stop = _start_embedded_worker(app)
        try:
            run_simple(host, port, app, threaded=True, use_reloader=False)
        finally:
            stop.set()
        return
    from gunicorn.app.base import BaseApplication

    settings = extension.get().settings

    class _Gunicorn(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            if settings.log_format == "json":
                self.cfg.set("logger_class", "loandesk.observability.gunicorn.JsonLogger")
            if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                self.cfg.set("child_exit", _metrics_worker_exit)

        def load(self) -> Flask:
            return app

    _Gunicorn().run()


def _metrics_worker_exit(_server: Any, worker: Any) -> None:
    """A gunicorn worker ended: its live gauges leave the shared metrics folder."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _start_embedded_worker(app: Flask) -> threading.Event:
    """The embedded mode runs jobs in a thread of the web process (no Redis, no rq)."""
    from loandesk.jobs.database import DatabaseBackend
    from loandesk.jobs.runtime import execute, jobs

    registry = jobs()
    stop = threading.Event()
    backend = registry.backend
    if isinstance(backend, DatabaseBackend):
        thread = threading.Thread(
            target=backend.work,
            args=(functools.partial(execute, app), registry.queues),
            kwargs={"stop": stop},
            name="loandesk-jobs",
            daemon=True,
        )
        thread.start()
        from loandesk.jobs.runtime import scheduler

        threading.Thread(
            target=scheduler(app).run, args=(stop,), name="loandesk-scheduler", daemon=True
        ).start()
    return stop


@cli.command("worker")
@click.option("--queue", "queues", multiple=True, help="Queues to serve (default: all).")
@click.option("--burst", is_flag=True, help="Stop when no job is left.")
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Answer GET /metrics on this port (needs LOANDESK_METRICS_TOKEN).",
)
@click.option(
    "--metrics-host",
    default="0.0.0.0",  # noqa: S104  (a container or pod: its one address is the point)
    show_default=True,
    help="Address for --metrics-port.",
)
@with_appcontext
def worker(
    queues: tuple[str, ...], burst: bool, metrics_port: int | None, metrics_host: str
) -> None:
    """Run background jobs: rq on Redis when LOANDESK_REDIS_URL is set, else the database."""
    from flask import current_app

    from loandesk.jobs.runtime import execute, jobs

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    logfilter.install([app.logger])  # again: a logging config may have added handlers since
    if metrics_port is not None:
        _serve_worker_metrics(metrics_host, metrics_port)
    registry = jobs()
    names = list(queues) or registry.queues
    if extension.get().settings.redis_url:
        from rq import SimpleWorker

        from loandesk.jobs.rq_backend import RQBackend, set_worker_app

        backend = registry.backend
        assert isinstance(backend, RQBackend)
        set_worker_app(app)
        rq_worker = SimpleWorker([backend.queue(n) for n in names], connection=backend.redis)
        rq_worker.work(burst=burst, with_scheduler=True)
        return
    from loandesk.jobs.database import DatabaseBackend

    database = registry.backend
    assert isinstance(database, DatabaseBackend)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"worker: serving {', '.join(names)} from the database")
    ran = database.work(functools.partial(execute, app), names, stop=stop, burst=burst)
    click.echo(f"worker: ran {ran} jobs")


def _serve_worker_metrics(host: str, port: int) -> None:
    from loandesk.observability import worker_http

    token = extension.get().settings.metrics_token
    if not token:
        raise click.UsageError("--metrics-port needs LOANDESK_METRICS_TOKEN to be set")
    try:
        server = worker_http.serve(token, host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot answer metrics on {host}:{port}: {exc}") from exc
    click.echo(f"worker: metrics on http://{host}:{server.server_port}/metrics")


@cli.command("scheduler")
@click.option("--once", is_flag=True, help="Fire what is due now, then stop.")
@click.option(
    "--at",
    "at",
    default=None,
    help="With --once: evaluate the schedules as of this ISO time (catch up a period by hand).",
)
@with_appcontext
def scheduler_command(once: bool, at: str | None) -> None:
    """Fire periodic jobs when they come due, in each tenant's timezone."""
    from datetime import UTC, datetime

    from flask import current_app

    from loandesk.jobs.runtime import scheduler

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    clock = scheduler(app)
    if once:
        now = None
        if at:
            try:
                now = datetime.fromisoformat(at)
            except ValueError:
                raise click.BadParameter(f"not an ISO time: {at}", param_hint="--at") from None
            now = now if now.tzinfo else now.replace(tzinfo=UTC)
        fired = clock.tick(now)
        echo_json(
            {
                "fired": [
                    {
                        "schedule": name,
                        "tenant_id": str(t) if t else None,
                        "due_at": due.isoformat(),
                    }
                    for name, t, due in fired
                ]
            }
        )
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    clock.run(stop)


@cli.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--no-serve", is_flag=True, help="Prepare the demo tenant, then stop.")
@click.option(
    "--size",
    type=click.Choice(["small", "default", "large"]),
    default="default",
    show_default=True,
    help="How much history to generate (customers and loans over 18 months).",
)
@click.option(
    "--seed", default=DEMO_SEED, type=int, show_default=True, help="The same seed, the same data."
)
@click.option(
    "--no-history", is_flag=True, help="Only the staff and the bundle: generate no history."
)
@with_appcontext
def demo(host: str, port: int, no_serve: bool, size: str, seed: int, no_history: bool) -> None:
    """Migrate, create the demo tenant (its staff, the bundle tenants/demo/ (in the package:
    loandesk/demo/bundle) and 18 months of generated history), print the logins, and serve.
    A demo tenant that has its history already is kept as it is: only the passwords are set
    anew."""
    from loandesk.bundle import model
    from loandesk.demo import history, staff
    from loandesk.plugins import runtime
    from loandesk.tenancy import service, use
    from loandesk.tenancy.models import Tenant

    ext = extension.get()
    migrate.upgrade(ext.settings, runtime.host().migration_folders())
    # letters and digits guaranteed, so the password policy always accepts it
    password = f"Demo-{secrets.token_urlsafe(9)}-{secrets.randbelow(90) + 10}"
    with ext.db.transaction() as session:
        tenant = service.find_by_slug(session, DEMO_SLUG)
        if tenant is None:
            tenant = service.sign_up(
                session,
                name="演示小贷公司",
                slug=DEMO_SLUG,
                admin_email=DEMO_ADMIN,
                admin_password=password,
                admin_name="管理员",
            ).tenant
        ref = tenant.ref()
    with use(ref), ext.db.transaction() as session:
        from loandesk.auth import users

        admin = users.find_by_email(session, DEMO_ADMIN)
        if admin is None:
            raise click.ClickException("the demo tenant has no demo admin any more")
        users.update_user(session, admin, acting_user_id=None, password=password, status="active")
        staff.prepare(session, session.get(Tenant, ref.id), password)
    with use(ref), ext.db.transaction() as session:
        try:
            staff.apply_bundle(session, session.get(Tenant, ref.id))
        except model.BundleInvalid as invalid:
            for problem in invalid.problems:
                click.echo(problem, err=True)
            raise click.ClickException("the demo bundle was refused") from None
        except DomainError as error:
            raise domain_failure(error) from None
        staff.place(session)
    with ext.db.transaction() as session:
        ref = service.get_by_slug(session, DEMO_SLUG).ref()  # with the bundle's forms
    try:
        with use(ref):
            made = (
                None
                if no_history
                else history.generate(ext.db, size=size, seed=seed, progress=click.echo)
            )
    except DomainError as error:
        raise domain_failure(error) from None
    if made is not None:
        click.echo(f"  Generated (seed {seed}, {size}): {made}")
    elif not no_history:
        click.echo("  The demo tenant has its history already: kept as it is.")
    base = f"http://{host}:{port}"
    click.echo("")
    click.echo("  LoanDesk demo is ready.")
    click.echo(f"  Sign in at  {base}{page_path(DEMO_SLUG, '/login')}")
    click.echo(f"  Password    {password}  (every login below)")
    click.echo(f"  {'管理员':<12}{DEMO_ADMIN}")
    for person in staff.ROLE_LOGINS:
        click.echo(f"  {person.job:<12}{person.email}")
    click.echo("")
    if not no_serve:
        _serve(host, port)
