"""rp005 makes a loan's application unique; a database where two loans already share one stops
the upgrade with their numbers and changes nothing, and upgrades once one of them is gone."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect

from loandesk.db import Database, make_engine
from loandesk.migrate import alembic_config
from tests.helpers import installed_plugins
from tests.migration_rows import insert_row


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
