"""``loandesk plugin|audit``: plugins per tenant and the audit log."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from loandesk import extension
from loandesk.cli import cli, domain_failure, echo_json, tenant_transaction
from loandesk.errors import DomainError

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

    host = runtime.host()
    enabled: frozenset[str] = frozenset()
    if slug:
        with tenant_transaction(slug) as (session, _tenant):
            enabled = service.enabled_names(session)
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

    with tenant_transaction(slug) as (session, tenant):
        service.set_enabled(
            session,
            runtime.host(),
            tenant_id=tenant.id,
            name=name,
            enabled=enabled,
            acting_user_id=None,
        )
    echo_json({"tenant": slug, "plugin": name, "enabled": enabled})


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
                raise domain_failure(error) from None
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
