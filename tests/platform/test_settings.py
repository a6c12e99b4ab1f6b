from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from loandesk.settings import DEV_SECRET_KEY, Settings, SettingsError


def test_defaults_are_the_embedded_mode(tmp_path: Path) -> None:
    settings = Settings.from_env({"LOANDESK_INSTANCE_PATH": str(tmp_path)})
    assert settings.env == "embedded" and settings.is_embedded
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'loandesk.sqlite3'}"
    assert settings.redis_url == ""
    assert settings.owner_database_url == settings.database_url


def test_every_setting_is_read_from_the_environment(tmp_path: Path) -> None:
    env = {
        "LOANDESK_ENV": "production",
        "LOANDESK_DATABASE_URL": "postgresql://app@db/loandesk",
        "LOANDESK_MIGRATION_DATABASE_URL": "postgresql://owner@db/loandesk",
        "LOANDESK_REDIS_URL": "redis://cache:6379/0",
        "LOANDESK_SECRET_KEY": "s" * 40,
        "LOANDESK_MASTER_KEY": "m" * 40,
        "LOANDESK_INSTANCE_PATH": str(tmp_path),
        "LOANDESK_BASE_URL": "https://loans.example.cn",
        "LOANDESK_SESSION_LIFETIME": "600",
        "LOANDESK_LOGIN_MAX_FAILURES": "5",
        "LOANDESK_SQL_ECHO": "false",
    }
    s = Settings.from_env(env)
    assert (s.env, s.database_url, s.owner_database_url, s.redis_url) == (
        "production",
        "postgresql://app@db/loandesk",
        "postgresql://owner@db/loandesk",
        "redis://cache:6379/0",
    )
    assert s.instance_path == tmp_path and s.base_url == "https://loans.example.cn"
    assert s.session_lifetime == timedelta(minutes=10) and s.login_max_failures == 5


@pytest.mark.parametrize("secret", ["", DEV_SECRET_KEY, "short"])
def test_production_refuses_a_default_or_weak_secret_key(secret: str) -> None:
    with pytest.raises(SettingsError, match="LOANDESK_SECRET_KEY"):
        Settings.from_env(
            {
                "LOANDESK_ENV": "production",
                "LOANDESK_SECRET_KEY": secret,
                "LOANDESK_MASTER_KEY": "m" * 40,
            }
        )


def test_production_refuses_the_default_master_key() -> None:
    with pytest.raises(SettingsError, match="LOANDESK_MASTER_KEY"):
        Settings.from_env({"LOANDESK_ENV": "production", "LOANDESK_SECRET_KEY": "s" * 40})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOANDESK_ENV", "staging"),
        ("LOANDESK_LOGIN_MAX_FAILURES", "ten"),
        ("LOANDESK_SQL_ECHO", "maybe"),
    ],
)
def test_malformed_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({name: value})


def test_production_app_refuses_to_start_via_cli(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from loandesk.cli import cli

    result = CliRunner().invoke(
        cli,
        ["db", "upgrade"],
        env={
            "LOANDESK_ENV": "production",
            "LOANDESK_INSTANCE_PATH": str(tmp_path),
            "LOANDESK_SECRET_KEY": "",
            "LOANDESK_MASTER_KEY": "",
        },
    )
    assert result.exit_code != 0 and "LOANDESK_SECRET_KEY" in result.output


def test_previous_master_keys_are_a_comma_separated_list() -> None:
    settings = Settings.from_env({"LOANDESK_PREVIOUS_MASTER_KEYS": " old-1 ,old-2,, "})
    assert settings.previous_master_keys == ("old-1", "old-2")
    assert Settings.from_env({}).previous_master_keys == ()
