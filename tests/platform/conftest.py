"""Fixtures of the platform tests: the third-party plugin distribution."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loandesk import migrate
from loandesk.settings import Settings
from tests.conftest import DatabaseUrls

FIXTURE = Path(__file__).parent / "plugin_fixture"


@pytest.fixture(scope="session")
def hello_site(tmp_path_factory: pytest.TempPathFactory, database_urls: DatabaseUrls) -> Path:
    """pip-installs the fixture distribution into a folder, like site-packages (once per run),
    and applies its migrations (its own Alembic branch) to the test database."""
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
            str(FIXTURE),
        ],
        check=True,
        capture_output=True,
        cwd=build,
    )
    migrate.upgrade(
        Settings(
            database_url=database_urls.app_url,
            migration_database_url=database_urls.owner_url,
            instance_path=tmp_path_factory.mktemp("hello-instance"),
        ),
        [str(site / "loandesk_hello" / "migrations")],
    )
    return site


@pytest.fixture(scope="module")
def hello_distribution(hello_site: Path) -> Iterator[Path]:
    """The installed distribution on sys.path for one test module: apps created meanwhile find
    the plugin through its entry points; later ones do not. (Its modules stay imported: a
    model class is declared once per process.)"""
    sys.path.insert(0, str(hello_site))
    importlib.invalidate_caches()
    try:
        yield hello_site
    finally:
        sys.path.remove(str(hello_site))
        importlib.invalidate_caches()
