"""Backups: ``loandesk backup --to FILE`` and ``loandesk restore --from FILE``.

A backup is one tar archive:

- ``manifest.json``: the format, the database backend, when, and each table's row count;
- ``database.dump`` (PostgreSQL, ``pg_dump --format=custom``) or ``database.sqlite3`` (SQLite,
  a consistent copy through SQLite's online backup API);
- ``attachments/``: the uploaded files when the local storage backend keeps them in a folder
  (object storage is backed up by the object store itself).

On PostgreSQL every tenant table has row-level security with ``FORCE``: the owner role sees no
row without a tenant set, and ``pg_dump`` (which turns row security off) refuses such a table.
The dump therefore runs as a role that bypasses row-level security and reads everything: a
dedicated ``loandesk_backup`` role, ``BYPASSRLS`` and member of ``pg_read_all_data``
(``docs/deployment.md``, "Backups"). The restore runs as the owner role (the migration URL): it
creates the schema, owns it again, loads the rows before the policies are switched on, and
re-grants the app role its rights as the dump recorded them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from loandesk.db import make_engine
from loandesk.settings import Settings

FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
ATTACHMENTS = "attachments"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


class NotEmpty(BackupError):
    """The target database (or attachments folder) holds data and ``--yes`` was not given."""


@dataclass
class Outcome:
    backend: str
    tables: dict[str, int] = field(default_factory=dict)
    attachments: int | None = None  # files; None: not kept in a local folder
    mismatched: dict[str, tuple[int, int]] = field(default_factory=dict)  # table: (backed up, now)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


# --- backup --------------------------------------------------------------------------------


def backup(settings: Settings, target: Path, database_url: str | None = None) -> Outcome:
    """Write the archive ``target`` (written aside, then renamed into place)."""
    url = database_url or settings.owner_database_url
    backend = make_url(url).get_backend_name()
    target = Path(target)
    with tempfile.TemporaryDirectory(prefix="loandesk-backup-") as work:
        folder = Path(work)
        if backend == "postgresql":
            tables = _pg_dump(url, folder / PG_DUMP)
            database_file = PG_DUMP
        elif backend == "sqlite":
            _sqlite_copy(_sqlite_path(url), folder / SQLITE_COPY)
            tables = _counts(f"sqlite:///{folder / SQLITE_COPY}")
            database_file = SQLITE_COPY
        else:
            raise BackupError(f"cannot back up a {backend} database")
        files = _attachment_files(settings)
        outcome = Outcome(backend, tables, len(files) if files is not None else None)
        manifest = {
            "format": FORMAT,
            "backend": backend,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": database_file,
            "tables": tables,
            "attachments": "local" if files is not None else settings.storage_backend,
        }
        partial = target.with_name(f".{target.name}.partial")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with tarfile.open(partial, "w") as archive:
                _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
                archive.add(folder / database_file, arcname=database_file)
                if files is not None:
                    root = settings.attachments_path
                    if root.is_dir():
                        archive.add(root, arcname=ATTACHMENTS, recursive=False)
                    for path in files:
                        name = path.relative_to(root).as_posix()
                        archive.add(path, arcname=f"{ATTACHMENTS}/{name}")
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return outcome


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def _attachment_files(settings: Settings) -> list[Path] | None:
    """The local storage's files (temporary uploads left aside); None with object storage."""
    if settings.storage_backend != "local":
        return None
    root = settings.attachments_path
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".upload-"))


# --- restore -------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict[str, Any]:
    try:
        with tarfile.open(source, "r") as archive:
            member = archive.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest: dict[str, Any] = json.loads(member.read())
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"{source} is not a LoanDesk backup: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: backup format {manifest.get('format')} is not known here")
    if (manifest.get("backend"), manifest.get("database")) not in (
        ("postgresql", PG_DUMP),
        ("sqlite", SQLITE_COPY),
    ):
        raise BackupError(f"{source}: the manifest names no database this version restores")
    return manifest


def restore(
    settings: Settings, source: Path, database_url: str | None = None, overwrite: bool = False
) -> Outcome:
    """Restore ``source`` into the database (the owner URL) and the attachments folder.

    Without ``overwrite`` a database that has tables, or an attachments folder with files,
    is left alone (``NotEmpty``)."""
    manifest = read_manifest(source)
    url = database_url or settings.owner_database_url
    backend = make_url(url).get_backend_name()
    if backend != manifest["backend"]:
        raise BackupError(f"the backup is of a {manifest['backend']} database, not {backend}")
    files = _attachment_files(settings)
    restore_files = manifest.get("attachments") == "local" and files is not None
    if not overwrite:
        present = _tables(url)
        if present:
            raise NotEmpty(
                f"the database already has {len(present)} tables; "
                "restore over it with --yes (its tables are replaced)"
            )
        if restore_files and files:
            raise NotEmpty(
                f"{settings.attachments_path} already holds {len(files)} files; "
                "restore over them with --yes (they are replaced)"
            )
    with tempfile.TemporaryDirectory(prefix="loandesk-restore-") as work:
        folder = Path(work)
        with tarfile.open(source, "r") as archive:
            archive.extractall(folder, filter="data")
        database_file = folder / manifest["database"]
        if backend == "postgresql":
            _pg_restore(url, database_file, clean=overwrite)
            tables = _pg_counts(url)
        else:
            _sqlite_copy(database_file, _sqlite_path(url))
            tables = _counts(url)
        restored_files = None
        if restore_files:
            restored_files = _put_attachments(folder / ATTACHMENTS, settings.attachments_path)
    expected: dict[str, int] = manifest.get("tables", {})
    mismatched = {t: (n, tables.get(t, 0)) for t, n in expected.items() if tables.get(t, 0) != n}
    return Outcome(backend, tables, restored_files, mismatched)


def _put_attachments(source: Path, root: Path) -> int:
    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, root)
    else:
        root.mkdir()
    return sum(1 for p in root.rglob("*") if p.is_file())


# --- counting ------------------------------------------------------------------------------


@contextlib.contextmanager
def _connected(url: str) -> Iterator[sa.Connection]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _tables(url: str) -> list[str]:
    if make_url(url).get_backend_name() == "sqlite" and not _sqlite_path(url).exists():
        return []
    with _connected(url) as connection:
        return sorted(sa.inspect(connection).get_table_names())


def _counts(url: str) -> dict[str, int]:
    """Each table's rows, read by a role that sees all of them."""
    with _connected(url) as connection:
        return {name: _count(connection, name) for name in sa.inspect(connection).get_table_names()}


def _pg_counts(url: str) -> dict[str, int]:
    with _connected(url) as connection:
        counts = _pg_count_all(connection)
        connection.rollback()
        return counts


def _pg_count_all(connection: sa.Connection) -> dict[str, int]:
    """Each table's rows on PostgreSQL, in the connection's transaction. A role that bypasses
    row-level security counts them at once; the owner role (bound by ``FORCE``) counts them
    tenant by tenant."""
    names = sorted(sa.inspect(connection).get_table_names())
    bypass = connection.execute(
        sa.text("select rolbypassrls or rolsuper from pg_roles where rolname = current_user")
    ).scalar_one()
    guarded = set(
        connection.execute(
            sa.text(
                "select c.relname from pg_class c join pg_namespace n "
                "on n.oid = c.relnamespace and n.nspname = current_schema() "
                "where c.relrowsecurity"
            )
        ).scalars()
    ) & set(names)
    counts = {name: _count(connection, name) for name in names}
    if bypass or not guarded:
        return counts
    tenants = (
        list(connection.execute(sa.text("select id from tenants")).scalars())
        if "tenants" in names
        else []
    )
    counts.update(dict.fromkeys(guarded, 0))
    tenant_setting = sa.text("select set_config('app.tenant_id', :t, true)")
    for tenant_id in tenants:
        connection.execute(tenant_setting, {"t": str(tenant_id)})
        for name in guarded:
            counts[name] += _count(connection, name)
    connection.execute(tenant_setting, {"t": ""})
    return counts


def _count(connection: sa.Connection, table: str) -> int:
    return int(
        connection.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one()
    )


# --- SQLite --------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy, even while others write to ``source``."""
    if not source.exists():
        raise BackupError(f"no SQLite database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


# --- PostgreSQL ----------------------------------------------------------------------------


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI for the client tools, and the environment with its password (kept out of
    the process list)."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str, url: str) -> list[str]:
    """The client tool ``name``, checked to be new enough for the server."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client tools "
            "(Debian/Ubuntu: postgresql-client) of the server's major version or newer"
        )
    # the client tools' own path and arguments built here: no shell, nothing from a request
    output = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    found = re.search(r"(\d+)(?:\.\d+)?", output.stdout)
    client = int(found.group(1)) if found else 0
    with _connected(url) as connection:
        server = int(connection.execute(sa.text("show server_version_num")).scalar_one())
    if client < server // 10000:
        raise BackupError(
            f"{name} is version {client} but the server is {server // 10000}: "
            f"use the client tools of version {server // 10000} or newer"
        )
    return [path]


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if done.returncode != 0:
        message = done.stderr.strip() or done.stdout.strip()
        if "row-level security" in message:
            message += (
                "\nthe backup role must bypass row-level security: "
                "CREATE ROLE loandesk_backup LOGIN BYPASSRLS IN ROLE pg_read_all_data "
                "(see docs/deployment.md, Backups)"
            )
        raise BackupError(f"{what} failed: {message}")


def _pg_dump(url: str, target: Path) -> dict[str, int]:
    """Dump into ``target``; each table's rows in the dump. The rows are counted in a
    transaction whose snapshot pg_dump then uses: they are those of the dump, however busy
    the database is meanwhile."""
    command = _tool("pg_dump", url)
    uri, env = _libpq(url)
    with _connected(url) as plain:
        connection = plain.execution_options(isolation_level="REPEATABLE READ")
        snapshot = connection.execute(sa.text("select pg_export_snapshot()")).scalar_one()
        counts = _pg_count_all(connection)
        _run(
            [
                *command,
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={target}",
                f"--dbname={uri}",
            ],
            env,
            "pg_dump",
        )
        connection.rollback()
    return counts


def _pg_restore(url: str, dump: Path, clean: bool) -> None:
    command = _tool("pg_restore", url)
    uri, env = _libpq(url)
    options = ["--no-owner", "--single-transaction", "--exit-on-error"]
    if clean:
        options += ["--clean", "--if-exists"]
    _run([*command, *options, f"--dbname={uri}", str(dump)], env, "pg_restore")
