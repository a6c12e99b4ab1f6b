"""The ``loandesk`` command: everything a private install needs from a shell."""

from __future__ import annotations

import functools
import json
import secrets
import signal
import sys
import threading
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from loandesk import extension, migrate
from loandesk.errors import DomainError
from loandesk.pii.cli import keys as pii_keys
from loandesk.settings import Settings, SettingsError

DEMO_SLUG = "demo"
DEMO_ADMIN = "admin@demo.loandesk.local"


def _create_app() -> Flask:
    from loandesk.app import create_app

    try:
        return create_app(Settings.from_env())
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, load_dotenv=False)
def cli() -> None:
    """LoanDesk: a multi-tenant system for consumer-loan firms."""


def main() -> None:
    cli.main(prog_name="loandesk")


cli.add_command(pii_keys)


def _fail(error: DomainError) -> click.ClickException:
    message = error.message % error.params if error.params else error.message
    details = "; ".join(f"{k}: {', '.join(v)}" for k, v in error.errors.items())
    return click.ClickException(f"{message} {details}".strip())


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

    class _Gunicorn(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")

        def load(self) -> Flask:
            return app

    _Gunicorn().run()


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
@with_appcontext
def worker(queues: tuple[str, ...], burst: bool) -> None:
    """Run background jobs: rq on Redis when LOANDESK_REDIS_URL is set, else the database."""
    from flask import current_app

    from loandesk.jobs.runtime import execute, jobs

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
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
        _echo_json(
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
@with_appcontext
def demo(host: str, port: int, no_serve: bool) -> None:
    """Migrate, create the demo tenant with its admin, print the login, and serve."""
    from loandesk.auth import users
    from loandesk.plugins import runtime
    from loandesk.tenancy import service, use

    ext = extension.get()
    migrate.upgrade(ext.settings, runtime.host().migration_folders())
    # letters and digits guaranteed, so the password policy always accepts it
    password = f"Demo-{secrets.token_urlsafe(9)}-{secrets.randbelow(90) + 10}"
    with ext.db.transaction() as session:
        tenant = service.find_by_slug(session, DEMO_SLUG)
        if tenant is None:
            service.sign_up(
                session,
                name="演示小贷公司",
                slug=DEMO_SLUG,
                admin_email=DEMO_ADMIN,
                admin_password=password,
                admin_name="管理员",
            )
        else:
            with use(tenant.ref()):
                admin = users.find_by_email(session, DEMO_ADMIN)
                if admin is None:
                    raise click.ClickException("the demo tenant has no demo admin any more")
                users.update_user(
                    session, admin, acting_user_id=None, password=password, status="active"
                )
    base = f"http://{host}:{port}"
    click.echo("")
    click.echo("  LoanDesk demo is ready.")
    click.echo(f"  Sign in at  {base}/t/{DEMO_SLUG}/login")
    click.echo(f"  E-mail      {DEMO_ADMIN}")
    click.echo(f"  Password    {password}")
    click.echo("")
    if not no_serve:
        _serve(host, port)


# --- tenants and API clients ---------------------------------------------------------------


@cli.group()
def tenant() -> None:
    """Tenants (lending firms)."""


@tenant.command("create")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--admin-email", required=True)
@click.option("--admin-password", required=True, help="Or '-' to read it from standard input.")
@click.option("--admin-name", default=None)
@with_appcontext
def tenant_create(
    slug: str, name: str, admin_email: str, admin_password: str, admin_name: str | None
) -> None:
    """Create a tenant and its first admin; prints JSON."""
    from loandesk.tenancy import service

    if admin_password == "-":  # noqa: S105  ("-" means: read it from standard input)
        admin_password = sys.stdin.readline().rstrip("\n")
    try:
        with extension.get().db.transaction() as session:
            result = service.sign_up(
                session,
                name=name,
                slug=slug,
                admin_email=admin_email,
                admin_password=admin_password,
                admin_name=admin_name,
            )
    except DomainError as error:
        raise _fail(error) from None
    _echo_json(
        {
            "id": str(result.tenant.id),
            "slug": result.tenant.slug,
            "admin_user_id": str(result.admin.id),
        }
    )


@tenant.command("suspend")
@click.argument("slug")
@with_appcontext
def tenant_suspend(slug: str) -> None:
    """Suspend a tenant: its staff can no longer sign in nor call the API."""
    _set_status(slug, "suspended")


@tenant.command("activate")
@click.argument("slug")
@with_appcontext
def tenant_activate(slug: str) -> None:
    """Re-activate a suspended tenant."""
    _set_status(slug, "active")


def _set_status(slug: str, status: str) -> None:
    from loandesk.tenancy import service

    try:
        with extension.get().db.transaction() as session:
            service.set_status(session, service.get_by_slug(session, slug), status)
    except DomainError as error:
        raise _fail(error) from None
    _echo_json({"slug": slug, "status": status})


@cli.group("api-client")
def api_client() -> None:
    """API clients (OAuth2 client credentials)."""


@api_client.command("create")
@click.option("--tenant", "slug", required=True)
@click.option("--name", required=True)
@click.option("--scope", "scopes", multiple=True, help="Repeat for several; default: all.")
@with_appcontext
def api_client_create(slug: str, name: str, scopes: tuple[str, ...]) -> None:
    """Create an API client; prints JSON with client_id and client_secret (shown only now)."""
    from loandesk.auth import clients
    from loandesk.tenancy import service, use

    try:
        with extension.get().db.transaction() as session:
            tenant = service.get_by_slug(session, slug)
            with use(tenant.ref()):
                new = clients.create_client(
                    session,
                    tenant_id=tenant.id,
                    name=name,
                    scopes=list(scopes) or list(clients.SCOPES),
                    created_by_id=None,
                )
    except DomainError as error:
        raise _fail(error) from None
    _echo_json(
        {
            "client_id": new.client.client_id,
            "client_secret": new.client_secret,
            "scopes": new.client.scopes,
            "token_url": extension.get().settings.base_url.rstrip("/") + "/oauth/token",
        }
    )


def _echo_json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


# --- plugins -------------------------------------------------------------------------------


@cli.group()
def plugin() -> None:
    """Plugins: loan modules and connectors, enabled per tenant."""


@plugin.command("list")
@click.option("--tenant", "slug", default=None, help="Show which plugins this tenant enabled.")
@with_appcontext
def plugin_list(slug: str | None) -> None:
    """Installed plugins (with a tenant: enabled or not)."""
    from loandesk.plugins import runtime, service
    from loandesk.tenancy import service as tenants
    from loandesk.tenancy import use

    host = runtime.host()
    enabled: frozenset[str] = frozenset()
    if slug:
        try:
            with extension.get().db.transaction() as session:
                tenant = tenants.get_by_slug(session, slug)
                with use(tenant.ref()):
                    enabled = service.enabled_names(session)
        except DomainError as error:
            raise _fail(error) from None
    rows = [
        {
            "name": info.name,
            "title": info.title_zh,
            "version": info.version,
            "depends_on": list(info.depends_on),
            **({"enabled": info.name in enabled} if slug else {}),
        }
        for info in (host.infos[n] for n in sorted(host.infos))
    ]
    click.echo(json.dumps(rows, ensure_ascii=False, indent=2))


@plugin.command("enable")
@click.option("--tenant", "slug", required=True)
@click.argument("name")
@with_appcontext
def plugin_enable(slug: str, name: str) -> None:
    """Enable a plugin for a tenant (its dependencies must be enabled first)."""
    _set_plugin(slug, name, True)


@plugin.command("disable")
@click.option("--tenant", "slug", required=True)
@click.argument("name")
@with_appcontext
def plugin_disable(slug: str, name: str) -> None:
    """Disable a plugin for a tenant (plugins that need it must be disabled first)."""
    _set_plugin(slug, name, False)


def _set_plugin(slug: str, name: str, enabled: bool) -> None:
    from loandesk.plugins import runtime, service
    from loandesk.tenancy import service as tenants
    from loandesk.tenancy import use

    try:
        with extension.get().db.transaction() as session:
            tenant = tenants.get_by_slug(session, slug)
            with use(tenant.ref()):
                service.set_enabled(
                    session,
                    runtime.host(),
                    tenant_id=tenant.id,
                    name=name,
                    enabled=enabled,
                    acting_user_id=None,
                )
    except DomainError as error:
        raise _fail(error) from None
    _echo_json({"tenant": slug, "plugin": name, "enabled": enabled})


# --- plans (platform operator) -------------------------------------------------------------


@cli.group()
def plan() -> None:
    """Plans: which plugins the tenants of each plan may enable (platform operators)."""


@plan.command("save")
@click.argument("name")
@click.option("--title", required=True)
@click.option("--plugin", "plugin_names", multiple=True, help="Repeat for each plugin.")
@with_appcontext
def plan_save(name: str, title: str, plugin_names: tuple[str, ...]) -> None:
    """Create a plan, or replace its title and plugins."""
    from loandesk.plugins import runtime
    from loandesk.tenancy import plans

    try:
        with extension.get().db.transaction() as session:
            saved = plans.save(
                session,
                name=name,
                title=title,
                plugins=plugin_names,
                installed=runtime.host().infos,
            )
            result = {"name": saved.name, "title": saved.title, "plugins": saved.plugins}
    except DomainError as error:
        raise _fail(error) from None
    _echo_json(result)


@plan.command("list")
@with_appcontext
def plan_list() -> None:
    """Every plan with its plugins."""
    from loandesk.tenancy import plans

    with extension.get().db.transaction() as session:
        rows = [
            {"name": p.name, "title": p.title, "plugins": p.plugins}
            for p in plans.list_plans(session)
        ]
    click.echo(json.dumps(rows, ensure_ascii=False, indent=2))


@tenant.command("set-plan")
@click.argument("slug")
@click.argument("plan_name", required=False)
@click.option("--none", "no_plan", is_flag=True, help="No plan: every installed plugin allowed.")
@with_appcontext
def tenant_set_plan(slug: str, plan_name: str | None, no_plan: bool) -> None:
    """Put a tenant on a plan (or on none)."""
    from loandesk.tenancy import plans
    from loandesk.tenancy import service as tenants

    if bool(plan_name) == no_plan:
        raise click.UsageError("give a PLAN_NAME or --none")
    try:
        with extension.get().db.transaction() as session:
            target = tenants.get_by_slug(session, slug)
            plans.assign(session, target, plans.get(session, plan_name) if plan_name else None)
    except DomainError as error:
        raise _fail(error) from None
    _echo_json({"tenant": slug, "plan": plan_name})


# --- audit ---------------------------------------------------------------------------------


@cli.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
@click.option("--tenant", "slug", default=None, help="One tenant (default: every tenant).")
@with_appcontext
def audit_verify(slug: str | None) -> None:
    """Recompute each tenant's hash chain; exit 1 and name the first broken entry if any."""
    from sqlalchemy import select

    from loandesk.audit.service import verify
    from loandesk.tenancy import service as tenants
    from loandesk.tenancy import use
    from loandesk.tenancy.models import Tenant

    db = extension.get().db
    with db.transaction() as session:
        if slug:
            try:
                refs = [tenants.get_by_slug(session, slug).ref()]
            except DomainError as error:
                raise _fail(error) from None
        else:
            refs = [t.ref() for t in session.scalars(select(Tenant).order_by(Tenant.slug))]
    broken = 0
    for ref in refs:
        with use(ref), db.transaction() as session:
            verdict = verify(session, ref.id)
        if verdict.ok:
            click.echo(f"{ref.slug}: ok, {verdict.events} events")
        else:
            broken += 1
            click.echo(
                f"{ref.slug}: BROKEN at event {verdict.broken_seq} "
                f"(id {verdict.broken_id}): {verdict.reason}"
            )
    if broken:
        raise SystemExit(1)


# --- session timeouts ----------------------------------------------------------------------


@tenant.command("set-session")
@click.option("--slug", required=True)
@click.option("--idle-minutes", type=int, required=True, help="Sign out after this long idle.")
@click.option("--absolute-hours", type=int, required=True, help="And this long after sign-in.")
@with_appcontext
def tenant_set_session(slug: str, idle_minutes: int, absolute_hours: int) -> None:
    """Set a tenant's web-session timeouts; open sessions follow at their next request."""
    from loandesk.security.session_policy import set_session_limits
    from loandesk.tenancy import service as tenants
    from loandesk.tenancy import use

    try:
        with extension.get().db.transaction() as session:
            target = tenants.get_by_slug(session, slug)
            with use(target.ref()):
                set_session_limits(
                    session, target, idle_minutes=idle_minutes, absolute_hours=absolute_hours
                )
    except DomainError as error:
        raise _fail(error) from None
    _echo_json({"tenant": slug, "idle_minutes": idle_minutes, "absolute_hours": absolute_hours})
