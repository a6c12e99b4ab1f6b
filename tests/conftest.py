"""Fixtures for the whole suite: a migrated database (SQLite, or PostgreSQL with its own database,
owner role and non-owner app role per run), an app per test, and two tenants by default.

Run on PostgreSQL with ``--db=postgresql`` (``LOANDESK_TEST_POSTGRES_URL`` names a superuser
connection; default ``postgresql://postgres@127.0.0.1:5432/test``) and Redis with
``LOANDESK_TEST_REDIS_URL``, a Redis database the suite empties after each test.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from werkzeug.routing.rules import Rule

from loandesk import migrate
from loandesk.app import create_app
from loandesk.auth import passwords
from loandesk.db import Base
from loandesk.settings import Settings
from tests.helpers import ApiClient, TenantFixture, installed_plugins, make_tenant

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("LOANDESK_TEST_DB", "sqlite"),
        help="database backend the suite runs against",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--db") == "postgresql":
        if os.environ.get("CI"):
            _once_in_ci(items)
        return
    skip = pytest.mark.skip(reason="PostgreSQL only: runs with --db=postgresql")
    for item in items:
        if "postgresql" in item.keywords:
            item.add_marker(skip)


def _once_in_ci(items: list[pytest.Item]) -> None:
    """In CI the SQLite and PostgreSQL passes run side by side on the same code; a test that
    takes no database (``database_urls`` is not among its fixtures, directly or through
    others) and is not marked ``postgresql`` cannot reach PostgreSQL and answers the same in
    both, so it runs in the SQLite pass only (the CLI, serving, demo and wheel tests that
    make their own SQLite files, the arithmetic, the catalogs: some minutes of CPU)."""
    skip = pytest.mark.skip(reason="takes no database: in CI it runs in the SQLite pass")
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "database_urls" not in fixtures and "postgresql" not in item.keywords:
            item.add_marker(skip)


# Real argon2id, at its lowest cost: each test signs up tenants and adds staff, and the
# library's recommended parameters cost a quarter of a second per hash on a busy CI machine.
passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))

# Each test builds an app (hundreds of routes, SQLAlchemy and marshmallow objects) and throws it
# away: with CPython's default thresholds (700, 10, 10) the cyclic collector ran for a fifth of
# the suite's time, walking the same long-lived objects again and again. What was imported so
# far lives until the end, so it leaves the collector's view (freeze); young objects are
# collected after 50,000 allocations instead of 700. Garbage is still collected, only in fewer,
# larger passes (some tens of MB more at peak).
gc.collect()
gc.freeze()
gc.set_threshold(50_000, 20, 20)


@event.listens_for(Engine, "connect")
def _sqlite_without_fsync(dbapi_connection: Any, _record: Any) -> None:
    """A test database need not wait for each commit to reach the disk (as PostgreSQL's
    ``synchronous_commit = off`` below): in WAL mode with SQLite's default (FULL) every commit
    is an fsync, some milliseconds each, and a test commits tens of times. NORMAL keeps the
    database consistent and syncs only at checkpoints. The app's own pragmas (WAL, foreign
    keys, busy timeout) are left as they are."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


@dataclass(frozen=True)
class DatabaseUrls:
    backend: str
    app_url: str
    owner_url: str
    admin_url: str | None = None  # superuser, PostgreSQL only
    app_role: str | None = None


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def database_urls(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseUrls]:
    if request.config.getoption("--db") == "sqlite":
        path = tmp_path_factory.mktemp("db") / "loandesk.sqlite3"
        url = f"sqlite:///{path}"
        migrate.upgrade(Settings(database_url=url, instance_path=path.parent), installed_plugins())
        yield DatabaseUrls("sqlite", url, url)
        return
    admin_url = os.environ.get("LOANDESK_TEST_POSTGRES_URL", DEFAULT_PG)
    suffix = secrets.token_hex(4)
    name, owner, app_role = f"ld_test_{suffix}", f"ld_owner_{suffix}", f"ld_app_{suffix}"
    admin = create_engine(_psycopg_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f"CREATE ROLE {owner} LOGIN NOSUPERUSER NOBYPASSRLS"))
            c.execute(text(f"CREATE ROLE {app_role} LOGIN NOSUPERUSER NOBYPASSRLS"))
            c.execute(text(f"CREATE DATABASE {name} OWNER {owner}"))
            # A test database need not wait for each commit to reach the disk.
            c.execute(text(f"ALTER DATABASE {name} SET synchronous_commit = off"))
    except Exception as exc:
        pytest.exit(f"PostgreSQL at {admin_url} is not usable: {exc}", returncode=3)
    base = make_url(admin_url)
    owner_url = base.set(database=name, username=owner, password=None)
    app_url = base.set(database=name, username=app_role, password=None)
    urls = DatabaseUrls(
        "postgresql",
        app_url.render_as_string(hide_password=False),
        owner_url.render_as_string(hide_password=False),
        base.set(database=name).render_as_string(hide_password=False),
        app_role,
    )
    with create_engine(
        _psycopg_url(urls.admin_url or ""), isolation_level="AUTOCOMMIT"
    ).connect() as c:
        c.execute(
            text(f"REVOKE ALL ON SCHEMA public FROM PUBLIC; GRANT ALL ON SCHEMA public TO {owner}")
        )
    migrate.upgrade(
        Settings(
            database_url=urls.app_url,
            migration_database_url=urls.owner_url,
            instance_path=tmp_path_factory.mktemp("inst"),
        ),
        installed_plugins(),
    )
    yield urls
    for engine in _cleaners.values():
        engine.dispose()
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        c.execute(text(f"DROP ROLE IF EXISTS {app_role}"))
        c.execute(text(f"DROP ROLE IF EXISTS {owner}"))
    admin.dispose()


def suite_settings(database_urls: DatabaseUrls, instance_path: Path) -> Settings:
    """The settings of a test app: the run's database, its Redis database on PostgreSQL
    (``LOANDESK_TEST_REDIS_URL``; none on SQLite), the instance folder ``instance_path``."""
    redis_url = (
        os.environ.get("LOANDESK_TEST_REDIS_URL", "")
        if database_urls.backend == "postgresql"
        else ""
    )
    return Settings(
        database_url=database_urls.app_url,
        migration_database_url=database_urls.owner_url,
        redis_url=redis_url,
        instance_path=instance_path,
        base_url="http://loandesk.test",
    )


@pytest.fixture
def settings(database_urls: DatabaseUrls, tmp_path: Path) -> Settings:
    return suite_settings(database_urls, tmp_path / "instance")


class _CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept for the whole run. Each test's app has a new Jinja
    environment, which compiled every template it rendered again (the web tests spent about a
    third of their time there). Templates are still loaded from their files and rendered by
    each app; only the compiled code is reused, and Jinja compiles again when a file's source
    differs from the one compiled (each bucket carries its source's checksum). Every test app
    comes from ``create_app``, so their environments are configured alike."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self.compiled.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_compiled_templates = _CompiledTemplates()


_url_builders: dict[tuple[object, ...], Any] = {}
_compile_builder = Rule._compile_builder


def _kept_url_builder(rule: Rule, append_unknown: bool = True) -> Any:
    """Werkzeug's URL builder of ``rule``, compiled once per run. Each test's app binds its
    ~550 routes again, and compiling each route's builder (an AST made, walked and compiled
    into a function) was three quarters of ``create_app``. The function is made from the
    rule's parsed parts, its defaults' names and ``append_unknown`` only, and reads the
    converters from the rule it is bound to: a rule with the same key gets the same code.
    A rule whose default fills one of its own parts (the default's converted value is in
    the code) is compiled as before."""
    defaults = rule.defaults or {}
    if any(dynamic and name in defaults for dynamic, name in rule._trace):
        return _compile_builder(rule, append_unknown)
    key = (rule.rule, tuple(rule._trace), tuple(defaults), append_unknown)
    if key not in _url_builders:
        _url_builders[key] = _compile_builder(rule, append_unknown)
    return _url_builders[key]


Rule._compile_builder = _kept_url_builder  # type: ignore[method-assign]


@pytest.fixture
def app(settings: Settings, database_urls: DatabaseUrls) -> Iterator[Flask]:
    with suite_app(settings, database_urls) as app:
        yield app


@contextlib.contextmanager
def suite_app(settings: Settings, database_urls: DatabaseUrls) -> Iterator[Flask]:
    """A testing app on ``settings``; afterwards (also when the body fails) every table is
    emptied and the test Redis database flushed. The ``app`` fixture's, and that of the
    suites that share one app per module (``tests/api``, ``tests/isolation``)."""
    empty_redis(settings.redis_url)
    app = create_app(settings)
    app.testing = True
    app.jinja_env.bytecode_cache = _compiled_templates
    try:
        yield app
    finally:
        app.extensions["loandesk"].db.dispose()
        empty_tables(database_urls)
        empty_redis(settings.redis_url)


def empty_redis(redis_url: str) -> None:
    """Rate-limit counters and queued jobs in Redis would outlive the test, unlike rows in the
    emptied tables. The test Redis database (``LOANDESK_TEST_REDIS_URL``) is the suite's own."""
    if not redis_url:
        return
    from redis import Redis

    redis = Redis.from_url(redis_url)
    redis.flushdb()
    redis.close()


_cleaners: dict[str, Engine] = {}


def _cleaner(url: str) -> Engine:
    """The engine that empties the tables after each test, one per run: a new connection per
    test costs a PostgreSQL backend start (a process, its catalog caches) every time."""
    if url not in _cleaners:
        _cleaners[url] = create_engine(url)
    return _cleaners[url]


def empty_tables(urls: DatabaseUrls) -> None:
    """Deletes every row the test wrote. Only the tables that hold rows are touched: a test
    writes to a handful of the ~130 tables, and on PostgreSQL a TRUNCATE of all of them costs
    more than most tests. The superuser connection sees past row-level security, and the
    replica role skips foreign-key checks, so the order of the deletes does not matter."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    if urls.backend == "postgresql":
        with _cleaner(_psycopg_url(urls.admin_url or "")).begin() as c:
            probe = " UNION ALL ".join(
                f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM {t})" for t in tables
            )
            written = [row[0] for row in c.execute(text(probe))]
            if written:
                c.execute(text("SET LOCAL session_replication_role = replica"))
                for table in written:
                    c.execute(text(f"DELETE FROM {table}"))
    else:
        with _cleaner(urls.owner_url).begin() as c:
            for table in tables:
                c.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# --- tenants ---------------------------------------------------------------------------------


@pytest.fixture
def tenant_a(app: Flask) -> TenantFixture:
    return make_tenant(app, "tenant-a")


@pytest.fixture
def tenant_b(app: Flask) -> TenantFixture:
    return make_tenant(app, "tenant-b")


@pytest.fixture
def api_a(client: FlaskClient, tenant_a: TenantFixture) -> ApiClient:
    return ApiClient(client, tenant_a.token)


@pytest.fixture
def api_b(client: FlaskClient, tenant_b: TenantFixture) -> ApiClient:
    return ApiClient(client, tenant_b.token)


# --- a third-party plugin ------------------------------------------------------------------

PLUGIN_FIXTURE = Path(__file__).parent / "platform" / "plugin_fixture"
LOANS_FIXTURE = Path(__file__).parent / "platform" / "loans_fixture"
_FIXTURE_MIGRATIONS: list[str] = []  # of the fixture plugins installed so far in this run


def _install(
    source: Path,
    package: str,
    tmp_path_factory: pytest.TempPathFactory,
    database_urls: DatabaseUrls,
) -> Path:
    """pip-installs a fixture distribution into a folder, like site-packages, and applies its
    migrations (its own Alembic branch) to the test database."""
    site = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        capture_output=True,
        cwd=build,
    )
    _FIXTURE_MIGRATIONS.append(str(site / package / "migrations"))
    migrate.upgrade(
        Settings(
            database_url=database_urls.app_url,
            migration_database_url=database_urls.owner_url,
            instance_path=tmp_path_factory.mktemp(f"{package}-instance"),
        ),
        [*installed_plugins(), *_FIXTURE_MIGRATIONS],
    )
    return site


@contextlib.contextmanager
def _on_path(site: Path) -> Iterator[Path]:
    """The installed distribution on sys.path: apps created meanwhile find the plugin through
    its entry points; later ones do not. (Its modules stay imported: a model class is declared
    once per process.)"""
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        importlib.invalidate_caches()


@pytest.fixture(scope="session")
def hello_site(tmp_path_factory: pytest.TempPathFactory, database_urls: DatabaseUrls) -> Path:
    """The third-party fixture plugin ``hello``, installed once per run."""
    return _install(PLUGIN_FIXTURE, "loandesk_hello", tmp_path_factory, database_urls)


@pytest.fixture(scope="session")
def testloans_site(tmp_path_factory: pytest.TempPathFactory, database_urls: DatabaseUrls) -> Path:
    """The ``testloans`` fixture plugin (installments, until the servicing plugins exist),
    installed once per run."""
    return _install(LOANS_FIXTURE, "loandesk_testloans", tmp_path_factory, database_urls)


@pytest.fixture(scope="module")
def testloans_distribution(testloans_site: Path) -> Iterator[Path]:
    """The ``testloans`` plugin installed for one test module."""
    with _on_path(testloans_site) as site:
        yield site


@pytest.fixture(scope="module")
def hello_distribution(hello_site: Path) -> Iterator[Path]:
    """The ``hello`` plugin installed for one test module."""
    with _on_path(hello_site) as site:
        yield site
