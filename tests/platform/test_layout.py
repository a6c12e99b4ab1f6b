"""The source layout keeps ``platform/`` a plain folder, never a package (DESIGN §1)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_platform_gives_the_standard_library_from_the_repo_root() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import platform; print(platform.__file__); platform.system()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(out).parent == Path(sysconfig.get_paths()["stdlib"])
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_the_layout_of_design_section_1_exists() -> None:
    for path in (
        "pyproject.toml",
        "platform/loandesk",
        "plugins",
        "templates",
        "tenants",
        "deploy",
        "tests",
        "bench",
        "docs",
        "README.md",
        "LICENSE",
        ".ci/run",
    ):
        assert (ROOT / path).exists(), path
    assert "Apache License" in (ROOT / "LICENSE").read_text()
