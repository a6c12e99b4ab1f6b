"""Running the migrations: ``loandesk db upgrade`` and the test fixtures use this."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, make_url

from loandesk.audit.models import APPEND_ONLY_TABLES
from loandesk.db import make_engine
from loandesk.settings import Settings
from loandesk.tenancy import rls

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
RELEASES = MIGRATIONS / "releases.json"


def alembic_config(url: str, plugin_folders: Sequence[str] = ()) -> Config:
    """The core's revisions, plus each plugin's branch (``loandesk_migrations``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    folders = [str(MIGRATIONS / "versions"), *plugin_folders]
    config.set_main_option("version_locations", os.pathsep.join(folders))
    return config


def upgrade(
    settings: Settings, plugin_folders: Sequence[str] = (), revision: str = "heads"
) -> None:
    """Migrate with the owner URL, then let the app's role use the tables (PostgreSQL)."""
    owner_url = settings.owner_database_url
    engine = make_engine(owner_url)
    try:
        with engine.connect() as connection, foreign_keys_deferred(connection):
            config = alembic_config(owner_url, plugin_folders)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            app_user = make_url(settings.database_url).username
            owner_user = make_url(owner_url).username
            if connection.dialect.name == "postgresql" and app_user and app_user != owner_user:
                # an older ``revision`` may come before the append-only tables exist
                present = set(inspect(connection).get_table_names())
                append_only = tuple(t for t in APPEND_ONLY_TABLES if t in present)
                rls.grant_app_role(connection, app_user, append_only=append_only)
    finally:
        engine.dispose()


@contextmanager
def foreign_keys_deferred(connection: Connection) -> Iterator[None]:
    """One transaction for the migrations; on SQLite with foreign keys off meanwhile.

    SQLite alters most tables by re-creating them (Alembic's batch mode), and dropping a
    table that other rows point at fails under ``PRAGMA foreign_keys=ON``. SQLite's own
    procedure for schema changes: turn the check off outside the transaction, change the
    schema, run ``foreign_key_check`` before committing, turn it back on.
    """
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            yield
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


def current_heads(settings: Settings) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(settings.owner_database_url)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Status:
    """Where the database's schema stands against this code's migrations."""

    database: frozenset[str]  # the revision heads the database is at (empty: no schema)
    code: frozenset[str]  # the heads of this code's migrations (core and plugin branches)
    pending: tuple[str, ...]  # revisions ``upgrade`` would apply, oldest first
    unknown: frozenset[str]  # database revisions this code does not have (a newer release)

    @property
    def up_to_date(self) -> bool:
        return not self.pending and not self.unknown


def status(settings: Settings, plugin_folders: Sequence[str] = ()) -> Status:
    """Compare the database with the code, changing nothing (``loandesk db status``)."""
    script = ScriptDirectory.from_config(
        alembic_config(settings.owner_database_url, plugin_folders)
    )
    database = current_heads(settings)
    unknown = {r for r in database if not _known(script, r)}
    applied: set[str] = set()
    for head in database - unknown:  # a head stands for itself and all it builds on
        applied |= {r.revision for r in script.iterate_revisions(head, "base")}
    everything = [r.revision for r in script.walk_revisions()]  # newest first
    pending = tuple(r for r in reversed(everything) if r not in applied)
    return Status(frozenset(database), frozenset(script.get_heads()), pending, frozenset(unknown))


def _known(script: ScriptDirectory, revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def released_heads() -> dict[str, list[str]]:
    """Each tagged release's schema: its version -> the revision heads of the core and every
    built-in plugin's branch it shipped with (``migrations/releases.json``, oldest first).
    A release adds its heads there when it is tagged; the upgrade test starts from each."""
    releases: dict[str, list[str]] = json.loads(RELEASES.read_text(encoding="utf-8"))["releases"]
    return releases
