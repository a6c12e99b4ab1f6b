"""``loandesk db status``: where the schema stands against the code, without changing it (the
upgrade procedure's check before and after ``loandesk db upgrade``, docs/upgrades.md)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, text

from loandesk import migrate
from loandesk.cli import cli
from loandesk.settings import Settings
from tests.helpers import installed_plugins


def _status(env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["db", "status"], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _versions(settings: Settings) -> set[str]:
    engine = create_engine(settings.owner_database_url)
    with engine.connect() as c:
        found = set(c.execute(text("select version_num from alembic_version")).scalars())
    engine.dispose()
    return found


def test_status_says_what_an_upgrade_would_apply_and_changes_nothing(tmp_path: Path) -> None:
    env = {"LOANDESK_INSTANCE_PATH": str(tmp_path)}
    settings = Settings(instance_path=tmp_path)

    code, output = _status(env)  # an empty database
    assert code == 1
    assert "database at: (no schema)" in output and "run: loandesk db upgrade" in output
    assert "0001" in output.split("to apply: ")[1]

    migrate.upgrade(settings, installed_plugins(), revision="0030")  # the core only, up to 0030
    before = _versions(settings)
    code, output = _status(env)
    assert code == 1
    pending = output.split("to apply: ")[1].split("\n")[0].split(", ")
    assert pending[:5] == ["0031", "0032", "0033", "0034", "0035"]  # oldest first
    assert "rp001" in pending and "i001" in pending  # the plugins' branches, not yet applied
    assert not {"0001", "0029", "0030"} & set(pending)
    assert _versions(settings) == before  # status changed nothing

    assert CliRunner().invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    code, output = _status(env)
    assert code == 0 and output.rstrip().endswith("up to date"), output
    database_heads = set(output.split("database at: ")[1].split("\n")[0].split(", "))
    assert database_heads <= set(output.split("code at:     ")[1].split("\n")[0].split(", "))


def test_status_names_revisions_of_a_newer_release(tmp_path: Path) -> None:
    env = {"LOANDESK_INSTANCE_PATH": str(tmp_path)}
    settings = Settings(instance_path=tmp_path)
    assert CliRunner().invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    engine = create_engine(settings.owner_database_url)
    with engine.begin() as c:
        c.execute(
            text("update alembic_version set version_num = 'rp099' where version_num = 'rp009'")
        )
    engine.dispose()
    code, output = _status(env)
    assert code == 1
    assert "revisions this code does not have: rp099" in output
