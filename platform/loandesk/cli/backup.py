"""``loandesk backup|restore``: the database and the uploaded files in one archive."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click

from loandesk import backup as backups
from loandesk.cli import cli
from loandesk.settings import Settings, SettingsError


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@cli.command("backup")
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Path(path_type=Path),
    help="The archive to write (a tar file), or a folder to write "
    "loandesk-<UTC date and time>.tar into.",
)
@click.option(
    "--database-url",
    default=None,
    help="Dump as this role (default: LOANDESK_BACKUP_DATABASE_URL, else the migration URL). "
    "On PostgreSQL it must bypass row-level security.",
)
def backup_command(target: Path, database_url: str | None) -> None:
    """Back up the database and the local attachments folder into one archive."""
    settings = _settings()
    url = database_url or os.environ.get("LOANDESK_BACKUP_DATABASE_URL") or None
    if target.is_dir():
        target = target / f"loandesk-{datetime.now(UTC):%Y%m%d-%H%M%S}.tar"
    try:
        outcome = backups.backup(settings, target, url)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backed up {outcome.backend}: {len(outcome.tables)} tables, {outcome.rows} rows")
    if outcome.attachments is None:
        click.echo(f"attachments: in {settings.storage_backend} storage, not in this archive")
    else:
        click.echo(f"attachments: {outcome.attachments} files")
    click.echo(f"to {target}")


@cli.command("restore")
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An archive written by loandesk backup.",
)
@click.option("--yes", is_flag=True, help="Replace a database (and files) that hold data.")
@click.option(
    "--database-url",
    default=None,
    help="Restore as this role (default: the migration URL, the owner role).",
)
def restore_command(source: Path, yes: bool, database_url: str | None) -> None:
    """Restore an archive of loandesk backup (stop the web, worker and scheduler first)."""
    settings = _settings()
    try:
        outcome = backups.restore(settings, source, database_url, overwrite=yes)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    for table, rows in sorted(outcome.tables.items()):
        if rows:
            click.echo(f"  {table}: {rows}")
    click.echo(f"restored {outcome.backend}: {len(outcome.tables)} tables, {outcome.rows} rows")
    if outcome.attachments is not None:
        click.echo(f"attachments: {outcome.attachments} files")
    if outcome.mismatched:
        for table, (expected, found) in sorted(outcome.mismatched.items()):
            click.echo(f"MISMATCH {table}: backed up {expected} rows, restored {found}", err=True)
        raise SystemExit(1)
