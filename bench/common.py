"""What the benchmarks share: a PostgreSQL database with an owner and a non-owner app role
for one run (as the tests make them, dropped afterwards), and the migration folders of the
installed plugins."""

from __future__ import annotations

import secrets

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


class Database:
    """A database and its two roles for this run (as the tests make them), dropped after."""

    def __init__(self, admin_url: str) -> None:
        suffix = secrets.token_hex(4)
        self.name, self.owner, self.app = f"ld_bench_{suffix}", f"ld_bo_{suffix}", f"ld_ba_{suffix}"
        self.admin = create_engine(
            admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
            isolation_level="AUTOCOMMIT",
        )
        base = make_url(admin_url)
        self.owner_url = base.set(database=self.name, username=self.owner).render_as_string(False)
        self.app_url = base.set(database=self.name, username=self.app).render_as_string(False)
        self.superuser_url = base.set(database=self.name).render_as_string(False)

    def __enter__(self) -> Database:
        with self.admin.connect() as c:
            c.execute(text(f"CREATE ROLE {self.owner} LOGIN NOSUPERUSER NOBYPASSRLS"))
            c.execute(text(f"CREATE ROLE {self.app} LOGIN NOSUPERUSER NOBYPASSRLS"))
            c.execute(text(f"CREATE DATABASE {self.name} OWNER {self.owner}"))
        with psycopg.connect(self.superuser_url, autocommit=True) as c:
            c.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
            c.execute(f"GRANT ALL ON SCHEMA public TO {self.owner}")
        return self

    def __exit__(self, *exc: object) -> None:
        with self.admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))
            c.execute(text(f"DROP ROLE IF EXISTS {self.app}"))
            c.execute(text(f"DROP ROLE IF EXISTS {self.owner}"))
        self.admin.dispose()


def plugin_folders() -> list[str]:
    from loandesk.plugins.host import PluginHost

    host = PluginHost()
    host.discover()
    host.gather()
    return host.migration_folders()


def admin_password() -> str:
    """A throw-away password the sign-up accepts every time (letters and digits: a bare
    ``token_urlsafe`` lacks a digit about one time in forty, and the set-up failed)."""
    return secrets.token_urlsafe(16) + "a9"
