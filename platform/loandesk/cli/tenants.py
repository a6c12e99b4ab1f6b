"""``loandesk tenant|api-client|plan|user``: tenants, their API clients and plans, and the
two-factor reset of a user."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from loandesk import extension
from loandesk.cli import cli, domain_failure, echo_json, tenant_transaction
from loandesk.errors import DomainError

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
        raise domain_failure(error) from None
    echo_json(
        {
            "id": str(result.tenant.id),
            "slug": result.tenant.slug,
            "admin_user_id": str(result.admin.id),
        }
    )


@tenant.command("export")
@click.argument("slug")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def tenant_export(slug: str, folder: Path) -> None:
    """Write the tenant's configuration (roles, org units, plugins and their settings without
    secrets, security and privacy settings) as a bundle of YAML files into FOLDER."""
    from loandesk.bundle import model
    from loandesk.bundle.export import export
    from loandesk.plugins import runtime

    with tenant_transaction(slug) as (session, target):
        files = export(session, runtime.host(), target)
    plugin_files = [f.name for _, f in runtime.host().bundle_files()]
    for path in model.write(folder, files, plugin_files):
        click.echo(str(path))


@tenant.command("apply")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--tenant", "slug", required=True)
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@with_appcontext
def tenant_apply(folder: Path, slug: str, dry_run: bool) -> None:
    """Check the bundle in FOLDER whole, then apply it to the tenant in one transaction,
    printing each change; a refused bundle changes nothing."""
    from loandesk.bundle import model
    from loandesk.bundle.apply import Change, apply
    from loandesk.pii.keys import Keyring
    from loandesk.plugins import runtime

    class DryRun(Exception):
        pass

    settings = extension.get().settings
    changes: list[Change] = []
    try:
        host = runtime.host()
        bundle = model.read(folder, {f.name: f.schema for _, f in host.bundle_files()})
        with tenant_transaction(slug) as (session, target):
            keyring = Keyring(
                session,
                master_key=settings.master_key,
                previous_master_keys=settings.previous_master_keys,
            )
            changes = apply(session, host, keyring, target, bundle)
            if dry_run:
                raise DryRun  # rolls the transaction back
    except DryRun:
        pass
    except model.BundleInvalid as invalid:
        for problem in invalid.problems:
            click.echo(problem, err=True)
        raise click.ClickException("the bundle was refused; nothing changed") from None
    for change in changes:
        click.echo(str(change))
    verb = "would change" if dry_run else "changed"
    click.echo(
        f"{len(changes)} {'change' if len(changes) == 1 else 'changes'}: {verb} {slug}"
        if changes
        else f"nothing to change in {slug}"
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
        raise domain_failure(error) from None
    echo_json({"slug": slug, "status": status})


@cli.group("api-client")
def api_client() -> None:
    """API clients (OAuth2 client credentials)."""


@api_client.command("create")
@click.option("--tenant", "slug", required=True)
@click.option("--name", required=True)
@click.option("--scope", "scopes", multiple=True, help="Repeat for several; default: all.")
@click.option(
    "--acts-as",
    "acts_as",
    default=None,
    help="E-mail of the staff member whose grants apply to business records.",
)
@with_appcontext
def api_client_create(slug: str, name: str, scopes: tuple[str, ...], acts_as: str | None) -> None:
    """Create an API client; prints JSON with client_id and client_secret (shown only now)."""
    from loandesk.auth import clients, users

    with tenant_transaction(slug) as (session, tenant):
        acting = users.find_by_email(session, acts_as) if acts_as else None
        if acts_as and acting is None:
            raise click.BadParameter(
                f"no staff member {acts_as!r} in {slug}", param_hint="--acts-as"
            )
        new = clients.create_client(
            session,
            tenant_id=tenant.id,
            name=name,
            scopes=list(scopes) or list(clients.SCOPES),
            created_by_id=None,
            acts_as_id=acting.id if acting else None,
        )
    echo_json(
        {
            "client_id": new.client.client_id,
            "client_secret": new.client_secret,
            "scopes": new.client.scopes,
            "token_url": extension.get().settings.base_url.rstrip("/") + "/oauth/token",
        }
    )


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
        raise domain_failure(error) from None
    echo_json(result)


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
        raise domain_failure(error) from None
    echo_json({"tenant": slug, "plan": plan_name})


# --- session timeouts ----------------------------------------------------------------------


@tenant.command("set-session")
@click.option("--slug", required=True)
@click.option("--idle-minutes", type=int, required=True, help="Sign out after this long idle.")
@click.option("--absolute-hours", type=int, required=True, help="And this long after sign-in.")
@with_appcontext
def tenant_set_session(slug: str, idle_minutes: int, absolute_hours: int) -> None:
    """Set a tenant's web-session timeouts; open sessions follow at their next request."""
    from loandesk.security.session_policy import set_session_limits

    with tenant_transaction(slug) as (session, target):
        set_session_limits(
            session, target, idle_minutes=idle_minutes, absolute_hours=absolute_hours
        )
    echo_json({"tenant": slug, "idle_minutes": idle_minutes, "absolute_hours": absolute_hours})


@tenant.command("set-two-factor")
@click.option("--slug", required=True)
@click.option(
    "--require/--no-require",
    required=True,
    help="Staff must sign in with a code from an authenticator app (or need not).",
)
@with_appcontext
def tenant_set_two_factor(slug: str, require: bool) -> None:
    """Require two-factor sign-in of a tenant's staff, or stop requiring it (audited)."""
    from loandesk.security.tenant_settings import update_security_settings

    with tenant_transaction(slug) as (session, target):
        update_security_settings(session, target, require_two_factor=require)
    echo_json({"tenant": slug, "require_two_factor": require})


@cli.group("user")
def user_group() -> None:
    """Staff accounts of a tenant."""


@user_group.command("reset-two-factor")
@click.option("--tenant", "slug", required=True)
@click.argument("email")
@with_appcontext
def user_reset_two_factor(slug: str, email: str) -> None:
    """Take away a user's two-factor sign-in (lost phone and recovery codes, and no other
    admin to reset it on the web); their web sessions end."""
    from loandesk.auth import two_factor, users
    from loandesk.errors import NotFound
    from loandesk.i18n import N_
    from loandesk.web.sessions import end_sessions_of

    with tenant_transaction(slug) as (session, _target):
        user = users.find_by_email(session, email)
        if user is None:
            raise NotFound(N_("No such user."))
        two_factor.reset(session, user, acting_user_id=None)
        end_sessions_of(session, user.id)
    echo_json({"tenant": slug, "email": users.normalise_email(email), "two_factor": "reset"})


# --- moving a tenant between installs (docs/tenant-move.md) --------------------------------


@tenant.command("export-data")
@click.argument("slug")
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive to write (a zip of JSON Lines and the uploaded files).",
)
@click.option(
    "--database-url",
    default=None,
    help="Read as this role (default: the migration URL, the owner role).",
)
@with_appcontext
def tenant_export_data(slug: str, target: Path, database_url: str | None) -> None:
    """Export every row and uploaded file of tenant SLUG (not its configuration bundle: that
    is `tenant export`) into one archive, for `tenant import-data` on another install. The
    export is recorded in the tenant's audit log."""
    from loandesk import audit
    from loandesk.db import Base
    from loandesk.storage import storage
    from loandesk.tenant_move import MoveError, export_tenant

    settings = extension.get().settings
    try:
        done = export_tenant(
            Base.metadata, database_url or settings.owner_database_url, storage(), slug, target
        )
    except MoveError as exc:
        raise click.ClickException(str(exc)) from None
    with tenant_transaction(slug) as (session, _tenant):
        audit.record(
            session,
            "tenant.exported",
            "tenant",
            done.tenant_id,
            {"archive_sha256": done.sha256, "rows": done.rows, "files": done.files},
        )
    click.echo(f"exported {slug}: {len(done.tables)} tables, {done.rows} rows, {done.files} files")
    click.echo(f"to {target} (sha256 {done.sha256})")


@tenant.command("import-data")
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An archive written by `tenant export-data`.",
)
@click.option("--as-slug", default=None, help="Give the tenant this slug here (its id stays).")
@click.option(
    "--database-url",
    default=None,
    help="Write as this role (default: the migration URL, the owner role).",
)
@with_appcontext
def tenant_import_data(source: Path, as_slug: str | None, database_url: str | None) -> None:
    """Import a tenant exported by `tenant export-data`, with the same ids, in one transaction
    that commits only when its row counts and audit chain verify. Refused, and nothing
    written, when the archive is damaged, this database's migrations differ from the
    source's, the tenant (id or slug) is already here, or a plugin it uses is not installed."""
    from loandesk.db import Base
    from loandesk.plugins import runtime
    from loandesk.storage import storage
    from loandesk.tenant_move import MoveError, import_tenant

    settings = extension.get().settings
    try:
        done = import_tenant(
            Base.metadata,
            database_url or settings.owner_database_url,
            storage(),
            source,
            installed_plugins=runtime.host().infos.keys(),
            master_key=settings.master_key,
            previous_master_keys=settings.previous_master_keys,
            as_slug=as_slug,
        )
    except MoveError as exc:
        raise click.ClickException(f"{exc}\nnothing was imported") from None
    for table, rows in sorted(done.tables.items()):
        if rows:
            click.echo(f"  {table}: {rows}")
    click.echo(
        f"imported {done.slug} ({done.tenant_id}): {len(done.tables)} tables, {done.rows} rows, "
        f"{done.files} files; audit chain verified"
    )
