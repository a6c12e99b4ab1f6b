"""``loandesk sso``: a tenant's single sign-on, from the shell."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from loandesk.cli import cli, echo_json, tenant_transaction


@cli.group()
def sso() -> None:
    """Single sign-on (OpenID Connect) of a tenant."""


@sso.command("show")
@click.option("--tenant", "slug", required=True)
@with_appcontext
def sso_show(slug: str) -> None:
    """The tenant's provider settings (never the client secret)."""
    from loandesk.auth import sso_config

    with tenant_transaction(slug) as (session, _tenant):
        config = sso_config.require_config(session)
        echo_json(
            {key: getattr(config, key) for key in sso_config.FIELDS if key != "client_secret"}
        )


@sso.command("disable")
@click.option("--tenant", "slug", required=True)
@with_appcontext
def sso_disable(slug: str) -> None:
    """Turn single sign-on off and allow password sign-in for everyone (audited): for when
    the provider is unreachable and nobody can sign in to change the settings."""
    from loandesk.auth import sso_config

    with tenant_transaction(slug) as (session, _tenant):
        sso_config.disable(session)
    click.echo(f"single sign-on disabled for {slug}; staff sign in with passwords")
