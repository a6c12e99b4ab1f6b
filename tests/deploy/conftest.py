"""The deployment checks read files and run tools (Compose model, Prometheus rules, ...) that
do not depend on the database the suite runs on: they run once, in the SQLite pass."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _once_per_ci_run(request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--db") == "postgresql":
        pytest.skip("deployment checks run once, in the SQLite pass of the suite")
