"""rp005 makes a loan's application unique; a database where two loans already share one stops
the upgrade with their numbers and changes nothing, and upgrades once one of them is gone."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from loandesk.db import Database, make_engine
from loandesk.migrate import alembic_config
from tests.helpers import installed_plugins
from tests.migration_rows import fresh_postgresql, insert_row, insert_row_on


def test_rp005_names_the_loans_that_share_an_application_and_changes_nothing(
    tmp_path: Path,
) -> None:
    from alembic import command

    from loandesk.tenancy import guard, service

    path = tmp_path / "old.sqlite3"
    url = f"sqlite:///{path}"
    config = alembic_config(url, installed_plugins())
    command.upgrade(config, "rp004")
    db = Database(url)
    guard.install(db.session_factory)  # as create_app does: tenant stamping
    try:
        with db.transaction() as session:
            service.sign_up(
                session,
                name="旧机构",
                slug="old-firm",
                admin_email="admin@old.cn",
                admin_password="Correct-horse-42",
            )
    finally:
        db.dispose()
    shared, alone = uuid.uuid4(), uuid.uuid4()
    with sqlite3.connect(path) as raw:  # two loans booked twice from one application
        tenant = raw.execute("SELECT id FROM tenants").fetchone()[0]
        when = "2026-01-01 00:00:00.000000"
        customer = {"tenant_id": tenant, "created_at": when, "status": "active"}
        insert_row(raw, "customers_customers", customer)
        for number, application in (("01", shared), ("02", shared), ("03", alone)):
            loan = {"number": f"DK20260101000{number}", "application_id": application.hex}
            loan["status"] = "active"
            insert_row(raw, "repayment_loans", {"tenant_id": tenant, "created_at": when, **loan})

    with pytest.raises(RuntimeError) as refused:
        command.upgrade(config, "rp005")
    message = str(refused.value)
    assert f"application {shared}: loans DK2026010100001, DK2026010100002" in message
    assert "DK2026010100003" not in message and "loandesk db upgrade" in message
    engine = make_engine(url)
    indexes = {i["name"] for i in inspect(engine).get_indexes("repayment_loans")}
    engine.dispose()
    assert "ix_repayment_loans_application" not in indexes

    with sqlite3.connect(path) as raw:  # the firm decided: the second was booked by mistake
        raw.execute("DELETE FROM repayment_loans WHERE number = 'DK2026010100002'")
    command.upgrade(config, "rp005")
    engine = make_engine(url)
    indexes = {i["name"] for i in inspect(engine).get_indexes("repayment_loans")}
    engine.dispose()
    assert "ix_repayment_loans_application" in indexes


@pytest.mark.postgresql
def test_rp005_finds_the_shared_applications_under_row_level_security(database_urls) -> None:
    """On PostgreSQL the owner sees a tenant's rows only with ``app.tenant_id`` set (FORCE):
    the check reads tenant by tenant, so it finds the two loans there too."""
    from alembic import command

    from loandesk.tenancy import guard, service

    with fresh_postgresql(database_urls.admin_url) as url:
        config = alembic_config(url, installed_plugins())
        command.upgrade(config, "rp004")
        db = Database(url)
        guard.install(db.session_factory)
        try:
            with db.transaction() as session:
                tenant = service.sign_up(session, name="旧机构", slug="old-firm",
                                         admin_email="admin@old.cn",
                                         admin_password="Correct-horse-42").tenant.id  # fmt: skip
        finally:
            db.dispose()
        shared = uuid.uuid4()
        engine = make_engine(url)
        with engine.begin() as c:
            c.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
            when = {"tenant_id": tenant, "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}
            insert_row_on(c, "customers_customers", {**when, "status": "active"})
            for number in ("DK2026010100001", "DK2026010100002"):
                insert_row_on(c, "repayment_loans", {**when, "number": number,
                                                     "application_id": shared,
                                                     "status": "active"})  # fmt: skip
        try:
            with pytest.raises(RuntimeError) as refused:
                command.upgrade(config, "rp005")
            expected = f"application {shared}: loans DK2026010100001, DK2026010100002"
            assert expected in str(refused.value)
            with engine.begin() as c:
                c.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
                c.execute(text("DELETE FROM repayment_loans WHERE number = 'DK2026010100002'"))
            command.upgrade(config, "rp005")
            indexes = {i["name"] for i in inspect(engine).get_indexes("repayment_loans")}
            assert "ix_repayment_loans_application" in indexes
        finally:
            engine.dispose()


@pytest.mark.postgresql
def test_rp008_downgrade_turns_written_off_loans_back_under_row_level_security(
    database_urls,
) -> None:
    """The owner sees a tenant's loans only with ``app.tenant_id`` set (FORCE): the downgrade
    reads tenant by tenant, so a written-off loan is active again and the old CHECK holds."""
    from alembic import command

    from loandesk.tenancy import guard, service

    with fresh_postgresql(database_urls.admin_url) as url:
        config = alembic_config(url, installed_plugins())
        command.upgrade(config, "rp008")
        db = Database(url)
        guard.install(db.session_factory)
        try:
            with db.transaction() as session:
                tenant = service.sign_up(session, name="旧机构", slug="old-firm",
                                         admin_email="admin@old.cn",
                                         admin_password="Correct-horse-42").tenant.id  # fmt: skip
        finally:
            db.dispose()
        engine = make_engine(url)
        try:
            with engine.begin() as c:
                c.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
                when = {"tenant_id": tenant, "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}
                insert_row_on(c, "customers_customers", {**when, "status": "active"})
                written_off = {"status": "written_off", "written_off_on": dt.date(2026, 6, 1)}
                loan = {**when, "number": "DK2026010100001", **written_off}
                insert_row_on(c, "repayment_loans", loan)
            command.downgrade(config, "rp006")
            with engine.begin() as c:
                c.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
                status = c.execute(text("select status from repayment_loans")).scalar_one()
            assert status == "active"
        finally:
            engine.dispose()
