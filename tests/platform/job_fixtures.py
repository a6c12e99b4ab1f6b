"""Fixtures for tests that run ``loandesk worker`` / ``scheduler`` processes: the suite runs
them on the database job backend (embedded mode) and, in the PostgreSQL + Redis pass, on rq."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask

from loandesk.settings import Settings

REDIS_URL = os.environ.get("LOANDESK_TEST_REDIS_URL", "")


@pytest.fixture(params=["database", "redis"])
def job_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "redis":
        if not REDIS_URL:
            pytest.skip("rq runs in the PostgreSQL + Redis pass (LOANDESK_TEST_REDIS_URL)")
        from redis import Redis

        Redis.from_url(REDIS_URL).flushdb()
        return settings.replace(redis_url=REDIS_URL)
    return settings.replace(redis_url="")


@pytest.fixture
def job_app(app: Flask, job_settings: Settings) -> Iterator[Flask]:
    from loandesk.app import create_app

    other = create_app(job_settings)
    yield other
    other.extensions["loandesk"].db.dispose()
