"""The ``loandesk`` command: everything a private install needs from a shell."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup
from sqlalchemy.orm import Session

from loandesk.errors import DomainError
from loandesk.pii.cli import keys as pii_keys
from loandesk.privacy.cli import retention_group
from loandesk.settings import Settings, SettingsError
from loandesk.tenancy.models import Tenant


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
cli.add_command(retention_group)


@contextmanager
def tenant_transaction(slug: str) -> Iterator[tuple[Session, Tenant]]:
    """One transaction of tenant ``slug``, the tenant current for all of it (commit included,
    so every flush is stamped and checked); a ``DomainError`` becomes a clean CLI error."""
    from loandesk import extension
    from loandesk.tenancy import service, use

    db = extension.get().db
    try:
        with db.transaction() as lookup:
            ref = service.get_by_slug(lookup, slug).ref()
        with use(ref), db.transaction() as session:
            tenant = session.get(Tenant, ref.id)
            assert tenant is not None
            yield session, tenant
    except DomainError as error:
        raise domain_failure(error) from None


def domain_failure(error: DomainError) -> click.ClickException:
    message = error.message % error.params if error.params else error.message
    details = "; ".join(f"{k}: {', '.join(v)}" for k, v in error.errors.items())
    return click.ClickException(f"{message} {details}".strip())


def echo_json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


# The commands, by subject (each module registers its own on ``cli``).
from loandesk.cli import admin, backup, operations, sso, tenants  # noqa: E402, F401
