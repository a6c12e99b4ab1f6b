"""dt003 and wc002 move the DingTalk and WeCom staff mappings into the core's
staff_external_accounts (0035) with their rows, and drop the old tables; their downgrades bring
the tables back with the rows. wc002 stops, changing nothing, while a WeCom userid is linked to
two staff members (its old table allowed it; the core's does not)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from loandesk.db import Database
from loandesk.migrate import alembic_config
from tests.helpers import installed_plugins
from tests.migration_rows import insert_row

WHEN = "2026-01-01 00:00:00.000000"


def _old_database(tmp_path: Path) -> tuple[object, Path, str, str, str]:
    """A database at dt002 / wc001 with one tenant, its admin and one more staff member."""
    from alembic import command

    from loandesk.tenancy import guard, service

    path = tmp_path / "old.sqlite3"
    url = f"sqlite:///{path}"
    config = alembic_config(url, installed_plugins())
    command.upgrade(config, "dt002")
    command.upgrade(config, "wc001")
    db = Database(url)
    guard.install(db.session_factory)  # as create_app does: tenant stamping
    try:
        with db.transaction() as session:
            service.sign_up(session, name="旧机构", slug="old-firm", admin_email="admin@old.cn",
                            admin_password="Correct-horse-42")  # fmt: skip
    finally:
        db.dispose()
    with sqlite3.connect(path) as raw:
        tenant, admin = raw.execute("SELECT tenant_id, id FROM users").fetchone()
        other = insert_row(raw, "users", {"tenant_id": tenant, "email": "li@old.cn",
                                          "status": "active", "created_at": WHEN,
                                          "updated_at": WHEN})  # fmt: skip
    return config, path, tenant, admin, other


def _core_rows(path: Path) -> set[tuple[str, str, str]]:
    with sqlite3.connect(path) as raw:
        return set(raw.execute(
            "SELECT provider, user_id, external_id FROM staff_external_accounts"))  # fmt: skip


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as raw:
        return {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_the_plugins_mappings_move_to_the_core_and_back(tmp_path: Path) -> None:
    from alembic import command

    config, path, tenant, admin, other = _old_database(tmp_path)
    with sqlite3.connect(path) as raw:
        insert_row(raw, "dingtalk_staff_accounts", {"tenant_id": tenant, "user_id": admin,
                   "dingtalk_userid": "manager0831", "updated_at": WHEN})  # fmt: skip
        insert_row(raw, "dingtalk_staff_accounts", {"tenant_id": tenant, "user_id": other,
                   "dingtalk_userid": "li01", "updated_at": WHEN})  # fmt: skip
        insert_row(raw, "wecom_staff_accounts", {"tenant_id": tenant, "user_id": admin,
                   "wecom_userid": "ZhangSan", "updated_at": WHEN})  # fmt: skip

    command.upgrade(config, "heads")
    assert _core_rows(path) == {
        ("dingtalk", admin, "manager0831"), ("dingtalk", other, "li01"),
        ("wecom", admin, "ZhangSan"),
    }  # fmt: skip
    assert not {"dingtalk_staff_accounts", "wecom_staff_accounts"} & _tables(path)
    with sqlite3.connect(path) as raw, pytest.raises(sqlite3.IntegrityError):
        insert_row(raw, "staff_external_accounts", {"tenant_id": tenant, "user_id": other,
                   "provider": "wecom", "external_id": "ZhangSan", "updated_at": WHEN})  # fmt: skip

    command.downgrade(config, "dt002")
    command.downgrade(config, "wc001")
    assert _core_rows(path) == set()
    with sqlite3.connect(path) as raw:
        assert set(raw.execute("SELECT user_id, dingtalk_userid FROM dingtalk_staff_accounts")) \
            == {(admin, "manager0831"), (other, "li01")}  # fmt: skip
        assert set(raw.execute("SELECT user_id, wecom_userid FROM wecom_staff_accounts")) == {
            (admin, "ZhangSan")
        }
        with pytest.raises(sqlite3.IntegrityError):  # dt002's unique userid came back too
            insert_row(raw, "dingtalk_staff_accounts", {"tenant_id": tenant, "user_id": admin,
                       "dingtalk_userid": "li01", "updated_at": WHEN})  # fmt: skip
    command.upgrade(config, "heads")  # and up again
    assert len(_core_rows(path)) == 3


def test_wc002_names_a_userid_linked_to_two_staff_members_and_changes_nothing(
    tmp_path: Path,
) -> None:
    from alembic import command

    config, path, tenant, admin, other = _old_database(tmp_path)
    with sqlite3.connect(path) as raw:
        for user in (admin, other):
            insert_row(raw, "wecom_staff_accounts", {"tenant_id": tenant, "user_id": user,
                       "wecom_userid": "zhang01", "updated_at": WHEN})  # fmt: skip

    command.upgrade(config, "0035")  # the core first: SQLite does not roll back a created table
    with pytest.raises(RuntimeError) as refused:
        command.upgrade(config, "wc002")
    assert "userid zhang01" in str(refused.value)
    with sqlite3.connect(path) as raw:  # nothing was changed; an admin then unlinks one
        assert raw.execute("SELECT COUNT(*) FROM wecom_staff_accounts").fetchone()[0] == 2
        raw.execute("DELETE FROM wecom_staff_accounts WHERE user_id = ?", (other,))
    command.upgrade(config, "wc002")
    assert _core_rows(path) == {("wecom", admin, "zhang01")}
