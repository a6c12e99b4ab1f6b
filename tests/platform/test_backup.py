"""Acceptance (issue 13, backups): a populated database backed up, dropped, restored: every row,
the audit chains, the row-level security and the app's rights as before, and the app works.
On PostgreSQL and on SQLite, with the local attachments folder in the same archive."""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from loandesk import migrate
from loandesk.app import create_app
from loandesk.cli import cli
from loandesk.settings import Settings
from tests.helpers import ApiClient, TenantFixture, installed_plugins, make_tenant
from tests.plugins.customers.conftest import add_staff

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass
class Install:
    settings: Settings
    env: dict[str, str]
    superuser_url: str  # sees every row: the checksums read through it


def run(install: Install, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=install.env, catch_exceptions=False)


def _app(settings: Settings) -> Flask:
    app = create_app(settings)
    app.testing = True
    return app


@dataclass
class Populated:
    tenants: dict[str, TenantFixture]
    officers: dict[str, ApiClient]  # staff whose API clients act for them
    attachment_id: str
    rows: dict[str, tuple[int, str]]  # every table's rows and checksum, when populated
    files: dict[str, bytes]  # the attachments folder's files


def add_tenant(settings: Settings, slug: str) -> None:
    app = _app(settings)
    try:
        make_tenant(app, slug)
    finally:
        app.extensions["loandesk"].db.dispose()


def populate(install: Install) -> Populated:
    """Two firms through the real app: staff, customers with personal data, a custom
    attachment field and an uploaded file (tenant A): each of them writes audit events."""
    settings = install.settings
    app = _app(settings)
    try:
        tenants = {slug: make_tenant(app, slug) for slug in ("firm-a", "firm-b")}
        officers = {}
        for number, (slug, tenant) in enumerate(tenants.items()):
            admin = ApiClient(app.test_client(), tenant.token)
            assert admin.put("/plugins/customers", json={"enabled": True}).status_code == 200
            company = admin.get("/org-units").get_json()["items"][0]["id"]
            officer = add_staff(
                app, app.test_client(), tenant, "officer", ["credit_officer"], company
            )
            api = officers[slug] = officer.api
            for k in range(3):
                customer = api.post(
                    "/customers",
                    json={
                        "name": f"客户{number}{k}",
                        "mobile": f"1380013{number}{k:03d}",
                        "monthly_income": "8500.00",
                    },
                )
                assert customer.status_code == 201, customer.get_json()
        api_a = ApiClient(app.test_client(), tenants["firm-a"].token)
        field = api_a.post(
            "/record-types/customer/fields",
            json={"key": "photo", "kind": "attachment", "label_zh": "照片", "label_en": "photo"},
        )
        assert field.status_code == 201, field.get_json()
        assert api_a.post("/record-types/customer/form/publish", json={}).status_code == 201
        uploaded = officers["firm-a"].post(
            "/attachments",
            data={"record_type": "customer", "field": "photo", "file": (io.BytesIO(PNG), "a.png")},
            content_type="multipart/form-data",
        )
        assert uploaded.status_code == 201, uploaded.get_json()
        attachment_id = uploaded.get_json()["id"]
    finally:
        app.extensions["loandesk"].db.dispose()
    rows = snapshot(install.superuser_url)
    assert rows["audit_events"][0] > 10 and rows["customers_customers"][0] == 6
    stored = files(settings.attachments_path)
    assert list(stored.values()) == [PNG]
    return Populated(tenants, officers, attachment_id, rows, stored)


def snapshot(url: str) -> dict[str, tuple[int, str]]:
    """Each table's row count and a checksum over all its rows (in a stable order)."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    result = {}
    try:
        with engine.connect() as connection:
            for table in sorted(inspect(connection).get_table_names()):
                if connection.dialect.name == "postgresql":
                    rows = [
                        r[0]
                        for r in connection.execute(
                            text(f'select t::text from "{table}" t order by t::text')
                        )
                    ]
                else:
                    rows = sorted(
                        repr(tuple(r)) for r in connection.execute(text(f'select * from "{table}"'))
                    )
                digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
                result[table] = (len(rows), digest)
    finally:
        engine.dispose()
    return result


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def check_restored(install: Install, made: Populated) -> None:
    """Every row and file as before, and each firm's audit chain verifies."""
    assert snapshot(install.superuser_url) == made.rows
    assert files(install.settings.attachments_path) == made.files
    verified = run(install, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "firm-a: ok" in verified.output and "firm-b: ok" in verified.output


def check_the_app_works(install: Install, made: Populated) -> None:
    """The tokens issued before the backup still work, each firm sees its own customers
    (their personal data decrypted), and a new customer can be added."""
    app = _app(install.settings)
    try:
        a = ApiClient(app.test_client(), made.officers["firm-a"].token)
        b = ApiClient(app.test_client(), made.officers["firm-b"].token)
        names = sorted(c["name"] for c in a.get("/customers").get_json()["items"])
        assert names == ["客户00", "客户01", "客户02"]
        assert sorted(c["name"] for c in b.get("/customers").get_json()["items"]) == [
            "客户10",
            "客户11",
            "客户12",
        ]
        added = a.post("/customers", json={"name": "新客户", "mobile": "13900139000"})
        assert added.status_code == 201, added.get_json()
        content = a.get(f"/attachments/{made.attachment_id}/content")  # the restored file
        assert content.status_code == 200 and content.data == PNG
    finally:
        app.extensions["loandesk"].db.dispose()


# --- PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture
def pg_install(database_urls, tmp_path: Path) -> Iterator[Install]:
    """A private install's database of its own: owner, app role (no bypass) and a backup
    role with BYPASSRLS reading all data, as docs/deployment.md sets them up."""
    admin = create_engine(
        (database_urls.admin_url or "").replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    suffix = secrets.token_hex(4)
    name = f"ld_bk_{suffix}"
    owner, app_role, backup_role = (f"ld_bk{r}_{suffix}" for r in ("own", "app", "bak"))
    with admin.connect() as c:
        c.execute(text(f"CREATE ROLE {owner} LOGIN NOSUPERUSER NOBYPASSRLS"))
        c.execute(text(f"CREATE ROLE {app_role} LOGIN NOSUPERUSER NOBYPASSRLS"))
        c.execute(text(f"CREATE ROLE {backup_role} LOGIN NOSUPERUSER BYPASSRLS"))
        c.execute(text(f"GRANT pg_read_all_data TO {backup_role}"))
        c.execute(text(f"CREATE DATABASE {name} OWNER {owner}"))
    base = make_url(database_urls.admin_url)

    def url(user: str | None) -> str:
        return base.set(database=name, username=user).render_as_string(hide_password=False)

    settings = Settings(
        database_url=url(app_role),
        migration_database_url=url(owner),
        instance_path=tmp_path / "instance",
        base_url="http://loandesk.test",
    )
    env = {
        "LOANDESK_INSTANCE_PATH": str(settings.instance_path),
        "LOANDESK_DATABASE_URL": settings.database_url,
        "LOANDESK_MIGRATION_DATABASE_URL": settings.migration_database_url,
        "LOANDESK_BACKUP_DATABASE_URL": url(backup_role),
        "LOANDESK_BASE_URL": settings.base_url,
    }
    migrate.upgrade(settings, installed_plugins())
    try:
        yield Install(settings, env, url(base.username))
    finally:
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            for role in (app_role, backup_role, owner):
                c.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def security(install: Install) -> dict[str, list[tuple[object, ...]]]:
    """The row-level security of every table (on, forced, its policies) and every table
    right of the app role."""
    app_role = make_url(install.settings.database_url).username
    queries = {
        "tables": "select relname, relrowsecurity, relforcerowsecurity from pg_class "
        "where relkind = 'r' and relnamespace = 'public'::regnamespace order by 1",
        "policies": "select tablename, policyname, cmd, qual, with_check from pg_policies "
        "order by 1, 2",
        "grants": "select table_name, privilege_type from information_schema.role_table_grants "
        f"where grantee = '{app_role}' order by 1, 2",
    }
    engine = create_engine(install.superuser_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as c:
        found = {k: [tuple(r) for r in c.execute(text(q))] for k, q in queries.items()}
    engine.dispose()
    return found


def _recreate(install: Install) -> None:
    url = make_url(install.superuser_url)
    owner = make_url(install.settings.migration_database_url).username
    admin = create_engine(
        url.set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE {url.database} WITH (FORCE)"))
        c.execute(text(f"CREATE DATABASE {url.database} OWNER {owner}"))
    admin.dispose()


@pytest.mark.postgresql
@pytest.mark.slow
def test_postgresql_backup_drop_restore_keeps_every_row_the_audit_chain_and_the_isolation(
    pg_install: Install, tmp_path: Path
) -> None:
    made = populate(pg_install)

    archive = tmp_path / "backups" / "loandesk.tar"
    secured = security(pg_install)
    assert len(secured["policies"]) > 50 and ("users", "SELECT") in secured["grants"]
    done = run(pg_install, "backup", "--to", str(archive))
    assert done.exit_code == 0, done.output
    assert "attachments: 1 files" in done.output

    refused = run(pg_install, "restore", "--from", str(archive))
    assert refused.exit_code == 1 and "--yes" in refused.output
    # over the live database with --yes: its tables are dropped and restored
    again = run(pg_install, "restore", "--from", str(archive), "--yes")
    assert again.exit_code == 0, again.output
    assert snapshot(pg_install.superuser_url) == made.rows

    _recreate(pg_install)
    shutil.rmtree(pg_install.settings.attachments_path)
    restored = run(pg_install, "restore", "--from", str(archive))
    assert restored.exit_code == 0, restored.output
    total = sum(n for n, _ in made.rows.values())
    assert f"{len(made.rows)} tables, {total} rows" in restored.output
    assert "MISMATCH" not in restored.output

    check_restored(pg_install, made)

    # the policies, FORCE and the app role's rights came back with the schema
    assert security(pg_install) == secured
    from loandesk.tenancy import rls

    app_engine = create_engine(
        pg_install.settings.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    )
    with app_engine.connect() as c:
        guarded = ["customers_customers", "users", "audit_events", "attachments"]
        assert rls.unprotected_tables(c, guarded) == []
        c.execute(
            text("select set_config('app.tenant_id', :t, false)"), {"t": made.tenants["firm-a"].id}
        )
        seen = {
            str(t) for t in c.execute(text("select tenant_id from customers_customers")).scalars()
        }
        assert seen == {made.tenants["firm-a"].id}
        b_rows = text("select count(*) from customers_customers where tenant_id = :b")
        assert c.execute(b_rows, {"b": made.tenants["firm-b"].id}).scalar_one() == 0
        may = text("select has_table_privilege(current_user, 'audit_events', :p)")
        assert c.execute(may, {"p": "INSERT"}).scalar_one() is True
        assert c.execute(may, {"p": "UPDATE"}).scalar_one() is False
        owner = c.execute(
            text("select tableowner from pg_tables where tablename = 'customers_customers'")
        ).scalar_one()
        assert owner == make_url(pg_install.settings.migration_database_url).username
    app_engine.dispose()

    check_the_app_works(pg_install, made)
    assert run(pg_install, "audit", "verify").exit_code == 0


@pytest.mark.postgresql
def test_postgresql_backup_as_a_role_bound_by_row_level_security_is_refused_with_the_reason(
    pg_install: Install, tmp_path: Path
) -> None:
    add_tenant(pg_install.settings, "firm-a")
    env = {**pg_install.env}
    env.pop("LOANDESK_BACKUP_DATABASE_URL")  # the owner role: FORCE binds it
    archive = tmp_path / "x.tar"
    done = CliRunner().invoke(cli, ["backup", "--to", str(archive)], env=env)
    assert done.exit_code == 1
    assert "row-level security" in done.output and "BYPASSRLS" in done.output
    assert not archive.exists()


@pytest.mark.postgresql
def test_postgresql_backup_without_fitting_client_tools_says_what_to_install(
    pg_install: Install, tmp_path: Path
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    env = {**pg_install.env, "PATH": str(tools)}
    done = CliRunner().invoke(cli, ["backup", "--to", str(tmp_path / "x.tar")], env=env)
    assert done.exit_code == 1
    assert "pg_dump is not installed" in done.output and "postgresql-client" in done.output

    old = tools / "pg_dump"  # the client tools of an older PostgreSQL than the server's
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 12.19'\n")
    old.chmod(0o755)
    done = CliRunner().invoke(cli, ["backup", "--to", str(tmp_path / "x.tar")], env=env)
    assert done.exit_code == 1
    assert "pg_dump is version 12 but the server is" in done.output
    assert not (tmp_path / "x.tar").exists()


# --- SQLite --------------------------------------------------------------------------------


@pytest.fixture
def sqlite_install(tmp_path: Path) -> Install:
    instance = tmp_path / "instance"
    instance.mkdir()
    settings = Settings(instance_path=instance, base_url="http://loandesk.test")
    migrate.upgrade(settings, installed_plugins())
    env = {"LOANDESK_INSTANCE_PATH": str(instance), "LOANDESK_BASE_URL": settings.base_url}
    return Install(settings, env, settings.database_url)


@pytest.mark.slow
def test_sqlite_backup_delete_restore_keeps_every_row_and_the_audit_chain(
    sqlite_install: Install, tmp_path: Path
) -> None:
    made = populate(sqlite_install)

    archive = tmp_path / "loandesk.tar"
    done = run(sqlite_install, "backup", "--to", str(archive))
    assert done.exit_code == 0, done.output

    database = Path(make_url(sqlite_install.settings.database_url).database or "")
    for path in database.parent.glob(f"{database.name}*"):
        path.unlink()  # the database, its WAL and shared-memory files
    shutil.rmtree(sqlite_install.settings.attachments_path)
    restored = run(sqlite_install, "restore", "--from", str(archive))
    assert restored.exit_code == 0, restored.output
    assert "MISMATCH" not in restored.output and "attachments: 1 files" in restored.output

    check_restored(sqlite_install, made)
    check_the_app_works(sqlite_install, made)


def test_restore_over_a_database_with_data_needs_yes(
    sqlite_install: Install, tmp_path: Path
) -> None:
    add_tenant(sqlite_install.settings, "firm-a")
    archive = tmp_path / "loandesk.tar"
    assert run(sqlite_install, "backup", "--to", str(archive)).exit_code == 0
    add_tenant(sqlite_install.settings, "firm-b")  # written after the backup

    refused = run(sqlite_install, "restore", "--from", str(archive))
    assert refused.exit_code == 1
    assert "already has" in refused.output and "--yes" in refused.output
    slugs = text("select slug from tenants order by slug")
    engine = create_engine(sqlite_install.settings.database_url)
    with engine.connect() as c:
        assert list(c.execute(slugs).scalars()) == ["firm-a", "firm-b"]  # untouched
    engine.dispose()

    replaced = run(sqlite_install, "restore", "--from", str(archive), "--yes")
    assert replaced.exit_code == 0, replaced.output
    engine = create_engine(sqlite_install.settings.database_url)
    with engine.connect() as c:
        assert list(c.execute(slugs).scalars()) == ["firm-a"]
    engine.dispose()


def test_restore_refuses_what_is_not_a_backup(sqlite_install: Install, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.tar"
    bogus.write_bytes(b"not a tar file")
    result = run(sqlite_install, "restore", "--from", str(bogus))
    assert result.exit_code == 1 and "is not a LoanDesk backup" in result.output


def test_a_backup_into_a_folder_is_named_by_its_time(
    sqlite_install: Install, tmp_path: Path
) -> None:
    """``--to FOLDER`` (compose's backup service): ``loandesk-<UTC time>.tar`` in it, which
    restores like any archive."""
    add_tenant(sqlite_install.settings, "firm-a")
    folder = tmp_path / "backups"
    folder.mkdir()
    done = run(sqlite_install, "backup", "--to", str(folder))
    assert done.exit_code == 0, done.output
    (archive,) = folder.iterdir()
    assert re.fullmatch(r"loandesk-\d{8}-\d{6}\.tar", archive.name)
    assert f"to {archive}" in done.output
    restored = run(sqlite_install, "restore", "--from", str(archive), "--yes")
    assert restored.exit_code == 0 and "MISMATCH" not in restored.output, restored.output
