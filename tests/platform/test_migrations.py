"""Acceptance: ``loandesk db upgrade`` creates the schema from empty, and the migrations agree
with the models (autogenerate finds no difference), on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, select, text

import loandesk.models  # noqa: F401
from loandesk.cli import cli
from loandesk.db import Base, make_engine
from loandesk.migrate import alembic_config
from tests.helpers import installed_plugins


def _core_tables() -> set[str]:
    # The core's and the built-in plugins' tables; a third-party plugin (the test fixture
    # loandesk_hello) is checked by its own tests.
    return {
        m.local_table.name
        for m in Base.registry.mappers
        if m.class_.__module__.startswith(("loandesk.", "loandesk_customers."))
    }


def test_models_and_migrations_agree(database_urls) -> None:
    core = _core_tables()

    def include(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table is None or table in core

    engine = make_engine(database_urls.owner_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": include}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_db_upgrade_creates_the_schema_from_empty_on_sqlite(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["db", "upgrade"], env={"LOANDESK_INSTANCE_PATH": str(tmp_path)}
    )
    assert result.exit_code == 0, result.output
    script = ScriptDirectory.from_config(alembic_config("sqlite://", installed_plugins()))
    # a plugin's branch depends on the revisions it builds on, which are then no heads
    needed = set()
    for revision in script.walk_revisions():
        dependencies = revision.dependencies or ()
        needed |= {dependencies} if isinstance(dependencies, str) else set(dependencies)
    heads = set(script.get_heads()) - needed
    assert result.output.strip() == f"database at {', '.join(sorted(heads))}"
    engine = create_engine(f"sqlite:///{tmp_path / 'loandesk.sqlite3'}")
    assert _core_tables() <= set(inspect(engine).get_table_names())
    engine.dispose()
    again = CliRunner().invoke(
        cli, ["db", "upgrade"], env={"LOANDESK_INSTANCE_PATH": str(tmp_path)}
    )
    assert again.exit_code == 0, again.output  # idempotent


@pytest.mark.postgresql
def test_db_upgrade_creates_the_schema_from_empty_on_postgresql(database_urls, tmp_path) -> None:
    from sqlalchemy.engine import make_url

    admin = create_engine(
        database_urls.admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    suffix = secrets.token_hex(4)
    name, owner, app_role = f"ld_cli_{suffix}", f"ld_cliown_{suffix}", f"ld_cliapp_{suffix}"
    with admin.connect() as c:
        c.execute(text(f"CREATE ROLE {owner} LOGIN NOSUPERUSER"))
        c.execute(text(f"CREATE ROLE {app_role} LOGIN NOSUPERUSER"))
        c.execute(text(f"CREATE DATABASE {name} OWNER {owner}"))
    base = make_url(database_urls.admin_url)
    owner_url = base.set(database=name, username=owner).render_as_string(hide_password=False)
    app_url = base.set(database=name, username=app_role).render_as_string(hide_password=False)
    try:
        result = CliRunner().invoke(
            cli,
            ["db", "upgrade"],
            env={
                "LOANDESK_INSTANCE_PATH": str(tmp_path),
                "LOANDESK_DATABASE_URL": app_url,
                "LOANDESK_MIGRATION_DATABASE_URL": owner_url,
            },
        )
        assert result.exit_code == 0, result.output
        engine = make_engine(app_url)
        with engine.connect() as c:
            tables = set(inspect(c).get_table_names())
            assert _core_tables() <= tables
            # the app role can use the tables it does not own, under RLS
            assert c.execute(text("select count(*) from users")).scalar_one() == 0
        engine.dispose()
    finally:
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            c.execute(text(f"DROP OWNED BY {app_role}"))
            c.execute(text(f"DROP ROLE IF EXISTS {app_role}"))
            c.execute(text(f"DROP ROLE IF EXISTS {owner}"))
        admin.dispose()


def test_0014_gives_existing_tenants_built_in_roles_the_data_request_permissions(
    tmp_path: Path,
) -> None:
    from alembic import command

    from loandesk.db import Database
    from loandesk.rbac.models import Role
    from loandesk.tenancy import guard, service, use

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    config = alembic_config(url)
    command.upgrade(config, "0013")  # the revision before 0014
    db = Database(url)
    guard.install(db.session_factory)  # as create_app does: tenant filter and stamping
    try:
        with db.transaction() as session:
            tenant = service.sign_up(
                session,
                name="旧机构",
                slug="old-firm",
                admin_email="admin@old.cn",
                admin_password="Correct-horse-42",
            ).tenant
            ref = service.tenant_ref(tenant)
        old = {"risk_manager": ["users.read"], "auditor": ["audit.read", "users.read"]}
        with use(ref), db.transaction() as session:
            for role in session.scalars(select(Role)):  # as seeded before this revision
                role.permissions = old.get(role.key, [])
            session.add(
                Role(
                    key="custom",
                    name_zh="自定义",
                    name_en="Custom",
                    builtin=False,
                    permissions=["users.read"],
                )
            )

        def permissions() -> dict[str, list[str]]:
            with use(ref), db.transaction() as session:
                return {r.key: sorted(r.permissions) for r in session.scalars(select(Role))}

        command.upgrade(config, "0014")
        after = permissions()
        assert after["risk_manager"] == [
            "data_requests.manage",
            "data_requests.read",
            "users.read",
        ]
        assert after["post_loan_admin"] == ["data_requests.manage", "data_requests.read"]
        assert after["auditor"] == ["audit.read", "data_requests.read", "users.read"]
        assert after["collector"] == [] and after["custom"] == ["users.read"]

        command.downgrade(config, "0013")
        assert permissions()["risk_manager"] == ["users.read"]
        assert "data_requests" not in inspect(db.engine).get_table_names()
        command.downgrade(config, "0011")  # two-factor and SSO undone, with rows in place
        assert "require_two_factor" not in {
            c["name"] for c in inspect(db.engine).get_columns("tenants")
        }
        command.upgrade(config, "heads")
    finally:
        db.dispose()


@contextlib.contextmanager
def _old_firm(tmp_path: Path, revision: str, removed: str) -> Iterator[tuple[Any, Any, Any]]:
    """A database at ``revision`` with a tenant whose roles lack ``removed`` (as they were
    seeded before the next revision) and a custom role: the alembic config, the database and
    the tenant."""
    from alembic import command

    from loandesk.db import Database
    from loandesk.rbac.models import Role
    from loandesk.tenancy import guard, service, use

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    config = alembic_config(url)
    command.upgrade(config, revision)
    db = Database(url)
    guard.install(db.session_factory)  # as create_app does: tenant filter and stamping
    try:
        with db.transaction() as session:
            tenant = service.sign_up(
                session,
                name="旧机构",
                slug="old-firm",
                admin_email="admin@old.cn",
                admin_password="Correct-horse-42",
            ).tenant
            ref = service.tenant_ref(tenant)
        with use(ref), db.transaction() as session:
            for role in session.scalars(select(Role)):
                role.permissions = [p for p in role.permissions if p != removed]
            session.add(
                Role(key="custom", name_zh="自定义", name_en="Custom", builtin=False,
                     permissions=["users.read"])
            )  # fmt: skip
        yield config, db, ref
        command.upgrade(config, "heads")
    finally:
        db.dispose()


def _holders(db: Any, ref: Any, permission: str) -> set[str]:
    from loandesk.rbac.models import Role
    from loandesk.tenancy import use

    with use(ref), db.transaction() as session:
        return {r.key for r in session.scalars(select(Role)) if permission in r.permissions}


def test_0026_gives_existing_post_loan_admins_and_auditors_the_message_log(
    tmp_path: Path,
) -> None:
    from alembic import command

    with _old_firm(tmp_path, "0025", "notifications.read_log") as (config, db, ref):
        assert _holders(db, ref, "notifications.read_log") == set()
        command.upgrade(config, "0026")
        assert _holders(db, ref, "notifications.read_log") == {"post_loan_admin", "auditor"}
        assert "ix_notification_messages_log" in {
            i["name"] for i in inspect(db.engine).get_indexes("notification_messages")
        }
        command.downgrade(config, "0025")
        assert _holders(db, ref, "notifications.read_log") == set()


def test_0027_gives_existing_risk_managers_reports_manage(tmp_path: Path) -> None:
    from alembic import command

    with _old_firm(tmp_path, "0026", "reports.manage") as (config, db, ref):
        assert _holders(db, ref, "reports.manage") == set()
        command.upgrade(config, "0027")
        assert _holders(db, ref, "reports.manage") == {"risk_manager"}
        assert "reports" in inspect(db.engine).get_table_names()
        command.downgrade(config, "0026")
        assert _holders(db, ref, "reports.manage") == set()
        assert "reports" not in inspect(db.engine).get_table_names()


def test_0029_adds_report_subscriptions_and_gives_existing_risk_managers_reports_export(
    tmp_path: Path,
) -> None:
    from alembic import command

    # the revision before 0029, whichever it is once the chain is merged
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    before = str(script.get_revision("0029").down_revision)
    with _old_firm(tmp_path, before, "reports.export") as (config, db, ref):
        assert _holders(db, ref, "reports.export") == set()
        command.upgrade(config, "0029")
        assert _holders(db, ref, "reports.export") == {"risk_manager"}
        tables = set(inspect(db.engine).get_table_names())
        assert {"report_subscriptions", "report_deliveries"} <= tables
        command.downgrade(config, before)
        assert _holders(db, ref, "reports.export") == set()
        assert "report_subscriptions" not in inspect(db.engine).get_table_names()


def test_a_populated_database_upgrades_from_0010_and_staff_join_the_company(
    tmp_path: Path,
) -> None:
    """An install with tenants, staff and roles (SQLite, foreign keys on) moves through org
    units, two-factor, SSO and privacy: every tenant gets its company unit, staff sit in it."""
    import uuid

    from alembic import command

    from loandesk.db import uuid7

    url = f"sqlite:///{tmp_path / 'populated.sqlite3'}"
    config = alembic_config(url, installed_plugins())
    command.upgrade(config, "0010")
    engine = make_engine(url)
    tenant, user, role = uuid7(), uuid7(), uuid7()
    with engine.begin() as c:
        c.execute(
            text(
                "insert into tenants (id, slug, name, status, timezone, locale, currency,"
                " created_at, plugins_version, session_idle_minutes, session_absolute_hours)"
                " values (:t, 'old', '旧机构', 'active', 'Asia/Shanghai', 'zh_CN', 'CNY',"
                " '2026-01-01 00:00:00.000000', 0, 30, 12)"
            ),
            {"t": tenant.hex},
        )
        c.execute(
            text(
                "insert into users (tenant_id, id, email, display_name, status, failed_logins,"
                " created_at, updated_at) values (:t, :u, 'a@old.cn', '甲', 'active', 0,"
                " '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')"
            ),
            {"t": tenant.hex, "u": user.hex},
        )
        c.execute(
            text(
                "insert into roles (tenant_id, id, key, name_zh, name_en, description, builtin,"
                " permissions, created_at) values (:t, :r, 'collector', '催收员', 'Collector', '',"
                " 1, '[]', '2026-01-01 00:00:00.000000')"
            ),
            {"t": tenant.hex, "r": role.hex},
        )
        c.execute(
            text(
                "insert into user_roles (tenant_id, id, user_id, role_id) values (:t, :i, :u, :r)"
            ),
            {"t": tenant.hex, "i": uuid7().hex, "u": user.hex, "r": role.hex},
        )
    engine.dispose()
    command.upgrade(config, "heads")
    engine = make_engine(url)
    with engine.connect() as c:
        unit = c.execute(text("select id, name, kind from org_units")).one()
        assert (unit.name, unit.kind) == ("旧机构", "company")
        placed = c.execute(text("select org_unit_id from users")).scalar_one()
        assert uuid.UUID(str(placed)) == uuid.UUID(str(unit.id))
        assert c.execute(text("select count(*) from user_roles")).scalar_one() == 1
    engine.dispose()
