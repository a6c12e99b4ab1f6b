# ruff: noqa: F811  (fixtures imported from the repayment tests are used by name)
"""Acceptance (issue 13, item 5): a tenant exported from one database and imported into
another has the same ids, the same balances and the same audit chain (``loandesk audit
verify`` passes on the target), and nothing of another tenant travels with it. A damaged
archive, a target at other migrations, a tenant already there, or a plugin missing are each
refused with a clear message, and nothing is written."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import secrets
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from click.testing import Result
from flask import Flask
from sqlalchemy.engine import make_url

from loandesk import migrate
from loandesk.app import create_app
from loandesk.cli import cli
from loandesk.db import Base
from loandesk.settings import Settings
from loandesk.tenant_move.schema import is_tenant_data
from tests.conftest import _FIXTURE_MIGRATIONS, DatabaseUrls
from tests.helpers import (
    ApiClient,
    TenantFixture,
    audit_events,
    installed_plugins,
    make_tenant,
)
from tests.plugins.intake.conftest import new_product, publish_flow
from tests.plugins.repayment.conftest import Desk, Products, desk, firm  # noqa: F401

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 80


@dataclass
class Target:
    settings: Settings
    reader_url: str  # sees every row (the owner on SQLite, a superuser on PostgreSQL)
    app_role_url: str | None = None  # PostgreSQL: the app's role, bound by row-level security


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _migrate(settings: Settings) -> None:
    migrate.upgrade(settings, [*installed_plugins(), *_FIXTURE_MIGRATIONS])


@contextmanager
def sqlite_target(folder: Path, **settings_values: Any) -> Iterator[Target]:
    folder.mkdir(parents=True)
    settings = Settings(instance_path=folder, base_url="http://loandesk.test", **settings_values)
    _migrate(settings)
    yield Target(settings, settings.database_url)


@contextmanager
def postgresql_target(admin_url: str, folder: Path) -> Iterator[Target]:
    """A database of its own, owned by its own role, with a non-owner app role, migrated to
    head as a private install's (``docs/deployment.md``); dropped after."""
    admin = sa.create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    suffix = secrets.token_hex(4)
    name, owner, app_role = f"ld_mv_{suffix}", f"ld_mvown_{suffix}", f"ld_mvapp_{suffix}"
    with admin.connect() as c:
        c.execute(sa.text(f"CREATE ROLE {owner} LOGIN NOSUPERUSER NOBYPASSRLS"))
        c.execute(sa.text(f"CREATE ROLE {app_role} LOGIN NOSUPERUSER NOBYPASSRLS"))
        c.execute(sa.text(f"CREATE DATABASE {name} OWNER {owner}"))
    base = make_url(admin_url)

    def url(user: str | None) -> str:
        return base.set(database=name, username=user).render_as_string(hide_password=False)

    try:
        settings = Settings(
            database_url=url(app_role),
            migration_database_url=url(owner),
            instance_path=folder,
            base_url="http://loandesk.test",
        )
        _migrate(settings)
        yield Target(settings, url(base.username), url(app_role))
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            c.execute(sa.text(f"DROP ROLE IF EXISTS {app_role}"))
            c.execute(sa.text(f"DROP ROLE IF EXISTS {owner}"))
        admin.dispose()


@contextmanager
def target_app(target: Target, with_products: bool = True) -> Iterator[Flask]:
    """The target install's app; ``with_products``: the test products plugin installed in it,
    as it is in the source's."""
    app = create_app(target.settings)
    app.testing = True
    products = Products()
    if with_products:
        app.extensions["loandesk.plugins"].register(products)
    try:
        yield app
    finally:
        app.extensions["loandesk"].db.dispose()


def invoke(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(cli, list(args))


# --- the tenant ----------------------------------------------------------------------------


@dataclass
class Moved:
    loans: list[dict[str, Any]]
    attachment_id: str
    application_id: str


def populate(desk: Desk, tenant_b: TenantFixture) -> Moved:
    """Through the real API: staff, customers, an application submitted into its approval
    flow, two loans with their schedules, payments on one, an uploaded file; tenant B has org
    units of its own."""
    admin = ApiClient(desk.app.test_client(), desk.firm.tenant.token)
    assert admin.put("/plugins/intake", json={"enabled": True}).status_code == 200
    publish_flow(desk.app, desk.firm, "risk")
    product = new_product(desk.firm.staff["risk"].api, required_documents=[])
    officer = desk.firm.staff["officer1"].api
    application = officer.post(
        "/applications",
        json={
            "customer_id": desk.customer_id,
            "product_id": product["id"],
            "amount": "12000.00",
            "term_months": 12,
        },
    )
    assert application.status_code == 201, application.get_json()
    application_id = application.get_json()["id"]
    submitted = officer.post(f"/applications/{application_id}/submit")
    assert submitted.status_code == 200, submitted.get_json()
    loans = [desk.book(), desk.book(principal="6000.00", periods=6)]
    for amount in ("1500.00", "800.00"):
        paid = desk.pay(loans[0]["id"], amount)
        assert paid.status_code == 201, paid.get_json()
    field = admin.post(
        "/record-types/customer/fields",
        json={"key": "photo", "kind": "attachment", "label_zh": "照片", "label_en": "photo"},
    )
    assert field.status_code == 201, field.get_json()
    assert admin.post("/record-types/customer/form/publish", json={}).status_code == 201
    uploaded = desk.firm.staff["officer1"].api.post(
        "/attachments",
        data={"record_type": "customer", "field": "photo", "file": (io.BytesIO(PNG), "a.png")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201, uploaded.get_json()
    b = ApiClient(desk.app.test_client(), tenant_b.token)
    company = b.get("/org-units").get_json()["items"][0]["id"]
    unit = b.post("/org-units", json={"parent_id": company, "name": "乙方分公司", "kind": "branch"})
    assert unit.status_code == 201, unit.get_json()
    return Moved(loans, uploaded.get_json()["id"], application_id)


def rows_of(url: str, tenant: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tenant, table by table, as the models read them (sorted)."""
    tenant_id = uuid.UUID(tenant)
    engine = _engine(url)
    found: dict[str, list[tuple[Any, ...]]] = {}
    try:
        with engine.connect() as c:
            present = set(sa.inspect(c).get_table_names())
            for table in Base.metadata.sorted_tables:
                if not is_tenant_data(table) or table.name not in present:
                    continue
                rows = c.execute(sa.select(table).where(table.c.tenant_id == tenant_id))
                found[table.name] = sorted((tuple(r) for r in rows), key=repr)
            tenants = Base.metadata.tables["tenants"]
            own = tenants.select().where(tenants.c.id == tenant_id)
            found["tenants"] = [tuple(r) for r in c.execute(own)]
    finally:
        engine.dispose()
    return found


def export(desk: Desk, archive: Path) -> Result:
    return invoke(desk.app, "tenant", "export-data", desk.firm.tenant.slug, "--to", str(archive))


def check_moved(desk: Desk, target: Target, before: dict[str, Any], made: Moved) -> None:
    tenant = desk.firm.tenant
    after = rows_of(target.reader_url, tenant.id)
    for table, rows in before.items():
        if table in ("audit_events", "audit_heads"):
            continue
        assert after[table] == rows, table
    # the chain as it was, and one event more: the import
    assert after["audit_events"][: len(before["audit_events"])] == before["audit_events"]
    assert len(after["audit_events"]) == len(before["audit_events"]) + 1
    with target_app(target) as app:
        verified = invoke(app, "audit", "verify")
        assert verified.exit_code == 0, verified.output
        assert f"{tenant.slug}: ok, {len(before['audit_events']) + 1} events" in verified.output
        assert "tenant-b" not in verified.output
        # the same loans and balances, read through the app by the same staff's token
        finance = ApiClient(app.test_client(), desk.api.token)
        for loan in made.loans:
            read = finance.get(f"/loans/{loan['id']}")
            assert read.status_code == 200, read.get_json()
            assert read.get_json() == desk.api.get(f"/loans/{loan['id']}").get_json()
        source_officer = desk.firm.staff["officer1"].api
        officer = ApiClient(app.test_client(), source_officer.token)
        content = officer.get(f"/attachments/{made.attachment_id}/content")
        assert content.status_code == 200 and content.data == PNG
        application = f"/applications/{made.application_id}"
        assert officer.get(application).get_json() == source_officer.get(application).get_json()
        assert officer.get(application).get_json()["status"] == "submitted"


# --- moving --------------------------------------------------------------------------------


def test_a_tenant_moves_to_another_sqlite_database_with_its_ids_balances_and_audit_chain(
    desk: Desk, tenant_b: TenantFixture, database_urls: DatabaseUrls, tmp_path: Path
) -> None:
    made = populate(desk, tenant_b)
    reader = database_urls.admin_url or database_urls.owner_url
    before = rows_of(reader, desk.firm.tenant.id)
    assert len(before["repayment_installments"]) == 18 and before["attachments"]

    archive = tmp_path / "move" / "tenant-a.zip"
    done = export(desk, archive)
    assert done.exit_code == 0, done.output
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        everything = b"".join(z.read(n) for n in names)
    assert tenant_b_absent(everything, database_urls, reader)
    assert f"files/{desk.firm.tenant.id}/{made.attachment_id}" in names

    with sqlite_target(tmp_path / "target") as target, target_app(target) as app:
        imported = invoke(app, "tenant", "import-data", "--from", str(archive))
        assert imported.exit_code == 0, imported.output
        assert "audit chain verified" in imported.output
        check_moved(desk, target, before, made)
    # the source recorded the export in the tenant's chain, which still verifies
    verified = invoke(desk.app, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    exported = audit_events(desk.app, desk.firm.tenant.slug, "tenant.exported")
    assert exported == [
        {
            "record_id": desk.firm.tenant.id,
            "archive_sha256": hashlib.sha256(archive.read_bytes()).hexdigest(),
            "rows": sum(len(r) for r in before.values()),
            "files": 1,
        }
    ]


def tenant_b_absent(archive_bytes: bytes, urls: DatabaseUrls, reader: str) -> bool:
    """No id of any row of tenant B appears anywhere in the archive (nor B's id itself)."""
    engine = _engine(reader)
    with engine.connect() as c:
        tenants = Base.metadata.tables["tenants"]
        b_id = c.execute(sa.select(tenants.c.id).where(tenants.c.slug == "tenant-b")).scalar_one()
        units = Base.metadata.tables["org_units"]
        of_b = sa.select(units.c.id).where(units.c.tenant_id == b_id)
        b_rows = [str(r) for r in c.execute(of_b).scalars()]
    engine.dispose()
    assert b_rows
    ids = [str(b_id), b_id.hex, *b_rows]
    return not any(i.encode() in archive_bytes for i in ids)


@pytest.mark.postgresql
@pytest.mark.slow
def test_a_tenant_moves_postgresql_to_sqlite_and_back_to_postgresql_with_rls_on_the_target(
    desk: Desk, tenant_b: TenantFixture, database_urls: DatabaseUrls, tmp_path: Path
) -> None:
    """PostgreSQL → SQLite → a new PostgreSQL database: every row as in the source, and the
    app's role (no bypass) reads the imported tenant's rows under row-level security, and
    only with the tenant set."""
    made = populate(desk, tenant_b)
    admin_url = database_urls.admin_url or ""
    before = rows_of(admin_url, desk.firm.tenant.id)
    first = tmp_path / "from-postgresql.zip"
    assert export(desk, first).exit_code == 0

    with sqlite_target(tmp_path / "sqlite") as lite:
        with target_app(lite) as app:
            imported = invoke(app, "tenant", "import-data", "--from", str(first))
            assert imported.exit_code == 0, imported.output
        check_moved(desk, lite, before, made)
        # the chain grew by the import there: it travels on (the export, recorded after the
        # archive is written, stays behind)
        sqlite_rows = rows_of(lite.reader_url, desk.firm.tenant.id)
        second = tmp_path / "from-sqlite.zip"
        with target_app(lite) as app:
            again = invoke(app, "tenant", "export-data", desk.firm.tenant.slug, "--to", str(second))
            assert again.exit_code == 0, again.output

    with postgresql_target(admin_url, tmp_path / "pg") as target:
        with target_app(target) as app:
            imported = invoke(app, "tenant", "import-data", "--from", str(second))
            assert imported.exit_code == 0, imported.output
        after = rows_of(target.reader_url, desk.firm.tenant.id)
        for table, rows in sqlite_rows.items():
            if table not in ("audit_events", "audit_heads"):
                assert after[table] == rows == before.get(table, rows), table
        chain = sqlite_rows["audit_events"]
        assert after["audit_events"][: len(chain)] == chain
        assert len(after["audit_events"]) == len(chain) + 1
        check_moved_chain_and_balances(desk, target, made)

        engine = _engine(target.app_role_url or "")
        loans = sa.text("select id from repayment_loans")
        with engine.connect() as c:
            assert c.execute(loans).all() == []  # no tenant set: no row
            c.execute(sa.text("select set_config('app.tenant_id', :t, false)"),
                      {"t": desk.firm.tenant.id})  # fmt: skip
            seen = {str(r) for r in c.execute(loans).scalars()}
        engine.dispose()
        assert seen == {loan["id"] for loan in made.loans}


def check_moved_chain_and_balances(desk: Desk, target: Target, made: Moved) -> None:
    with target_app(target) as app:
        verified = invoke(app, "audit", "verify")
        assert verified.exit_code == 0 and f"{desk.firm.tenant.slug}: ok" in verified.output
        finance = ApiClient(app.test_client(), desk.api.token)
        for loan in made.loans:
            read = finance.get(f"/loans/{loan['id']}")
            assert read.get_json() == desk.api.get(f"/loans/{loan['id']}").get_json()


# --- refused -------------------------------------------------------------------------------


def target_state(target: Target) -> tuple[list[Any], int, list[Path]]:
    """What a refused import must leave as it was: the tenants, the audit events, the files."""
    engine = _engine(target.reader_url)
    with engine.connect() as c:
        tenants = sorted(c.execute(sa.text("select slug from tenants")).scalars())
        events = c.execute(sa.text("select count(*) from audit_events")).scalar_one()
    engine.dispose()
    folder = target.settings.attachments_path
    return tenants, events, sorted(folder.rglob("*")) if folder.exists() else []


@pytest.fixture
def archive(desk: Desk, tenant_b: TenantFixture, tmp_path: Path) -> Path:
    populate(desk, tenant_b)
    path = tmp_path / "tenant-a.zip"
    done = export(desk, path)
    assert done.exit_code == 0, done.output
    return path


def refused(target: Target, archive: Path, *extra: str, with_products: bool = True) -> str:
    state = target_state(target)
    with target_app(target, with_products) as app:
        result = invoke(app, "tenant", "import-data", "--from", str(archive), *extra)
    assert result.exit_code == 1, result.output
    assert "nothing was imported" in result.output
    assert target_state(target) == state
    return result.output


def test_an_altered_archive_is_refused_before_anything_is_written(
    archive: Path, tmp_path: Path
) -> None:
    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(altered, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "tables/repayment_loans.jsonl":
                data = data.replace(b'"12000.00"', b'"1200.00"', 1)
                assert data != source.read(item)
            out.writestr(item, data)
    with sqlite_target(tmp_path / "target") as target:
        output = refused(target, altered)
        assert "tables/repayment_loans.jsonl does not match its checksum" in output


def test_a_target_at_other_migrations_is_refused_saying_to_upgrade(
    archive: Path, tmp_path: Path
) -> None:
    with sqlite_target(tmp_path / "target") as target:
        script = ScriptDirectory.from_config(
            migrate.alembic_config(target.reader_url, [*installed_plugins(), *_FIXTURE_MIGRATIONS])
        )
        core = script.get_revision(script.get_heads()[-1])
        assert core is not None and isinstance(core.down_revision, str)
        engine = _engine(target.reader_url)
        with engine.begin() as c:  # one branch a revision behind the source's
            c.execute(
                sa.text("update alembic_version set version_num = :old where version_num = :new"),
                {"old": core.down_revision, "new": core.revision},
            )
        engine.dispose()
        output = refused(target, archive)
        assert "migration heads" in output and "loandesk db upgrade" in output


def test_a_tenant_already_there_is_refused_and_as_slug_renames_only_the_slug(
    desk: Desk, archive: Path, tmp_path: Path
) -> None:
    # into its own database: the same id is there
    state = (
        target_state(Target(desk.app.extensions["loandesk"].settings, "", None)) if False else None
    )
    assert state is None
    result = invoke(desk.app, "tenant", "import-data", "--from", str(archive))
    assert result.exit_code == 1 and "is already in this database" in result.output

    with sqlite_target(tmp_path / "target") as target:
        with target_app(target) as app:  # another firm already has the slug here
            make_tenant(app, desk.firm.tenant.slug)
        output = refused(target, archive)
        assert "slug 'tenant-a' is taken here" in output and "--as-slug" in output
        with target_app(target) as app:
            done = invoke(
                app, "tenant", "import-data", "--from", str(archive), "--as-slug", "firm-a"
            )
            assert done.exit_code == 0, done.output
            verified = invoke(app, "audit", "verify", "--tenant", "firm-a")
            assert verified.exit_code == 0, verified.output
        engine = _engine(target.reader_url)
        with engine.connect() as c:
            slug = c.execute(
                sa.text("select slug from tenants where id = :i"),
                {"i": uuid.UUID(desk.firm.tenant.id).hex},
            ).scalar_one()
        engine.dispose()
        assert slug == "firm-a"


def test_a_tenant_using_a_plugin_not_installed_here_is_refused(
    archive: Path, tmp_path: Path
) -> None:
    with sqlite_target(tmp_path / "target") as target:
        output = refused(target, archive, with_products=False)
        assert "plugins not installed here: testproducts" in output


def test_personal_data_opens_on_an_install_with_another_master_key_once_given_the_source_key(
    desk: Desk, archive: Path, tmp_path: Path
) -> None:
    """The tenant's data keys are wrapped by the source install's master key: refused until
    the target is given it as a previous key, then re-wrapped with the target's own."""
    from loandesk.pii import keys

    target_key = "target-install-master-key-" + "k" * 20
    with sqlite_target(tmp_path / "target", master_key=target_key) as target:
        output = refused(target, archive)
        assert "LOANDESK_PREVIOUS_MASTER_KEYS" in output

        source_key = desk.app.extensions["loandesk"].settings.master_key
        given = dataclasses.replace(target, settings=dataclasses.replace(
            target.settings, previous_master_keys=(source_key,)))  # fmt: skip
        with target_app(given) as app:
            done = invoke(app, "tenant", "import-data", "--from", str(archive))
            assert done.exit_code == 0, done.output
        engine = _engine(target.reader_url)
        with engine.connect() as c:
            wrapped = c.execute(sa.text("select version, wrapped_key from tenant_data_keys")).all()
        engine.dispose()
        tenant_id = uuid.UUID(desk.firm.tenant.id)
        assert wrapped and all(keys.unwrap(target_key, tenant_id, v, w) for v, w in wrapped)

        keys.clear_cache()  # what this process unwrapped for the source must not help
        officer = desk.firm.staff["officer1"].api
        with target_app(target) as app:  # the target's own master key only, from now on
            moved = ApiClient(app.test_client(), officer.token)
            customer = f"/customers/{desk.customer_id}"
            read = moved.get(customer)
            assert read.status_code == 200, read.get_json()
            assert read.get_json() == officer.get(customer).get_json()
            assert read.get_json()["name"] == "张三丰"


def test_the_tenants_plan_moves_with_it_and_a_different_plan_of_the_same_name_is_refused(
    desk: Desk, database_urls: DatabaseUrls, tmp_path: Path
) -> None:
    plugins = ["--plugin", "customers", "--plugin", "repayment", "--plugin", "testproducts"]
    assert invoke(desk.app, "plan", "save", "basic", "--title", "基础版", *plugins).exit_code == 0
    assert invoke(desk.app, "tenant", "set-plan", desk.firm.tenant.slug, "basic").exit_code == 0
    archive = tmp_path / "tenant-a.zip"
    assert export(desk, archive).exit_code == 0

    with sqlite_target(tmp_path / "one") as target:
        with target_app(target) as app:
            done = invoke(app, "tenant", "import-data", "--from", str(archive))
            assert done.exit_code == 0, done.output
        source = rows_of(database_urls.admin_url or database_urls.owner_url, desk.firm.tenant.id)
        assert rows_of(target.reader_url, desk.firm.tenant.id)["tenants"] == source["tenants"]
        engine = _engine(target.reader_url)
        with engine.connect() as c:
            assert c.execute(sa.text("select name from plans")).scalars().all() == ["basic"]
        engine.dispose()

    with sqlite_target(tmp_path / "two") as target:
        with target_app(target) as app:  # this install sells its own "basic"
            assert invoke(app, "plan", "save", "basic", "--title", "Basic").exit_code == 0
        output = refused(target, archive)
        assert "plans row basic conflicts" in output


def test_rows_in_a_table_no_installed_plugin_declares_stop_the_export(
    desk: Desk, database_urls: DatabaseUrls, tmp_path: Path
) -> None:
    """A plugin removed but its table left with the tenant's rows: exporting without them
    would lose them silently."""
    postgres = database_urls.backend == "postgresql"
    engine = _engine(database_urls.owner_url)
    tenant_id = uuid.UUID(desk.firm.tenant.id)
    try:
        with engine.begin() as c:
            kind = "uuid" if postgres else "char(32)"
            c.execute(sa.text(f"create table leftover_notes (tenant_id {kind}, note text)"))
            c.execute(
                sa.text("insert into leftover_notes values (:t, 'kept')"),
                {"t": str(tenant_id) if postgres else tenant_id.hex},
            )
        archive = tmp_path / "tenant-a.zip"
        done = export(desk, archive)
        assert done.exit_code == 1
        assert "leftover_notes" in done.output and "install the plugins" in done.output
        assert not archive.exists() and not list(tmp_path.glob(".*partial"))
    finally:
        with engine.begin() as c:
            c.execute(sa.text("drop table leftover_notes"))
        engine.dispose()
