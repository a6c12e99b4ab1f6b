"""dt002 makes a DingTalk userid one staff member's; a database where one is linked to two stops
the upgrade naming it and changes nothing, and upgrades once one link is gone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from loandesk.db import Database
from loandesk.migrate import alembic_config
from tests.helpers import installed_plugins
from tests.migration_rows import insert_row


def test_dt002_names_a_userid_linked_to_two_staff_members_and_changes_nothing(
    tmp_path: Path,
) -> None:
    from alembic import command

    from loandesk.tenancy import guard, service

    path = tmp_path / "old.sqlite3"
    url = f"sqlite:///{path}"
    config = alembic_config(url, installed_plugins())
    command.upgrade(config, "dt001")
    db = Database(url)
    guard.install(db.session_factory)  # as create_app does: tenant stamping
    try:
        with db.transaction() as session:
            service.sign_up(session, name="旧机构", slug="old-firm", admin_email="admin@old.cn",
                            admin_password="Correct-horse-42")  # fmt: skip
    finally:
        db.dispose()
    when = "2026-01-01 00:00:00.000000"
    with sqlite3.connect(path) as raw:
        tenant, admin = raw.execute("SELECT tenant_id, id FROM users").fetchone()
        other = insert_row(raw, "users", {"tenant_id": tenant, "email": "li@old.cn",
                                          "status": "active", "created_at": when,
                                          "updated_at": when})  # fmt: skip
        for user in (admin, other):
            insert_row(raw, "dingtalk_staff_accounts", {"tenant_id": tenant, "user_id": user,
                                                        "dingtalk_userid": "zhang01",
                                                        "updated_at": when})  # fmt: skip

    with pytest.raises(RuntimeError) as refused:
        command.upgrade(config, "dt002")
    assert "userid zhang01" in str(refused.value)
    with sqlite3.connect(path) as raw:  # nothing was changed; an admin then unlinks one
        assert raw.execute("SELECT COUNT(*) FROM dingtalk_staff_accounts").fetchone()[0] == 2
        raw.execute("DELETE FROM dingtalk_staff_accounts WHERE user_id = ?", (other,))
    command.upgrade(config, "dt002")
    with sqlite3.connect(path) as raw, pytest.raises(sqlite3.IntegrityError):
        insert_row(raw, "dingtalk_staff_accounts", {"tenant_id": tenant, "user_id": other,
                                                    "dingtalk_userid": "zhang01",
                                                    "updated_at": when})  # fmt: skip
