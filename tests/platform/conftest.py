"""Fixtures of the platform tests: the third-party plugin distribution."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "plugin_fixture"


@pytest.fixture(scope="module")
def hello_distribution(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """pip-installs the fixture distribution into a folder on sys.path, like site-packages."""
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
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        for name in [m for m in sys.modules if m.startswith("loandesk_hello")]:
            del sys.modules[name]
        importlib.invalidate_caches()
