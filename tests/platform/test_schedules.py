"""Periodic jobs: two scheduler processes fire a daily job once per tenant, at each tenant's
own local time (the clock is injected with ``loandesk scheduler --once --at``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from loandesk.jobs.schedules import latest_due
from tests.helpers import ApiClient, make_tenant

pytestmark = [pytest.mark.usefixtures("hello_distribution"), pytest.mark.slow]
LOANDESK = str(Path(sys.executable).parent / "loandesk")


def test_latest_due_follows_the_tenant_timezone() -> None:
    at = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)  # 02:00 in Shanghai, 19:00 in Berlin
    assert latest_due("0 2 * * *", at, "Asia/Shanghai") == at
    assert latest_due("0 2 * * *", at, "Europe/Berlin") == datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)  # Berlin keeps summer time
    assert latest_due("0 2 * * *", summer, "Europe/Berlin") == datetime(
        2026, 7, 1, 0, 0, tzinfo=UTC
    )


def _env(settings, site: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        **os.environ,
        "LOANDESK_DATABASE_URL": settings.database_url,
        "LOANDESK_MIGRATION_DATABASE_URL": settings.migration_database_url,
        "LOANDESK_REDIS_URL": settings.redis_url,
        "LOANDESK_INSTANCE_PATH": str(settings.instance_path),
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }


def _schedulers_at(env: dict[str, str], at: str, count: int = 2) -> list[tuple[str, str]]:
    """Start ``count`` scheduler processes together; what they fired, all of them."""
    processes = [
        subprocess.Popen(
            [LOANDESK, "scheduler", "--once", "--at", at],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    fired = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        fired += [(f["schedule"], f["tenant_id"]) for f in json.loads(out)["fired"]]
    return [f for f in fired if f[0] == "hello.daily"]


def test_two_schedulers_fire_a_daily_job_once_per_tenant_at_local_time(
    app: Flask, settings, database_urls, hello_distribution: Path, tmp_path: Path
) -> None:
    shanghai, berlin = make_tenant(app, "sched-sh"), make_tenant(app, "sched-de")
    raw = create_engine(
        (database_urls.admin_url or database_urls.owner_url).replace(
            "postgresql://", "postgresql+psycopg://"
        )
    )
    with raw.begin() as c:
        c.execute(text("update tenants set timezone = 'Europe/Berlin' where slug = 'sched-de'"))
    raw.dispose()
    log = tmp_path / "daily.txt"
    for tenant in (shanghai, berlin):
        api = ApiClient(app.test_client(), tenant.token)
        response = api.client.put(
            "/api/v1/plugins/hello",
            json={"enabled": True, "settings": {"greeting": "hi", "log_path": str(log)}},
            headers={"Authorization": f"Bearer {tenant.token}"},
        )
        assert response.status_code == 200
    env = _env(settings, hello_distribution)

    # (two scheduler processes race where something comes due; one looks elsewhere: each
    # process start costs seconds of CPU)
    # first sight: the current period is the starting point, nothing fires
    assert _schedulers_at(env, "2026-11-28T12:00:00+00:00", count=1) == []
    # 02:00 in Shanghai (18:00 UTC): Shanghai only, once although two schedulers ran
    assert _schedulers_at(env, "2026-11-28T18:00:00+00:00") == [("hello.daily", shanghai.id)]
    assert _schedulers_at(env, "2026-11-28T18:30:00+00:00", count=1) == []
    # 02:00 in Berlin (01:00 UTC next day): Berlin only
    assert _schedulers_at(env, "2026-11-29T01:00:00+00:00", count=1) == [("hello.daily", berlin.id)]
    # three days with no scheduler running: each tenant catches up once, not three times
    caught_up = _schedulers_at(env, "2026-12-02T12:00:00+00:00")
    assert sorted(caught_up) == sorted([("hello.daily", shanghai.id), ("hello.daily", berlin.id)])

    done = subprocess.run(
        [LOANDESK, "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # (the log also holds the plugin's event handler lines: keep the daily job's)
    lines = sorted(x for x in log.read_text(encoding="utf-8").splitlines() if x.startswith("daily"))
    assert lines == ["daily:sched-de", "daily:sched-de", "daily:sched-sh", "daily:sched-sh"]


def test_a_bad_schedule_stops_the_app() -> None:
    from loandesk.jobs import JobError
    from loandesk.jobs.schedules import Schedule, check

    with pytest.raises(JobError, match="5-field cron"):
        check(Schedule("x.a", "every day", "x.job"), {"x.job"})
    with pytest.raises(JobError, match="unknown job"):
        check(Schedule("x.a", "0 2 * * *", "x.nope"), {"x.job"})
    with pytest.raises(JobError, match="its own plugin"):
        check(Schedule("x.a", "0 2 * * *", "y.job"), {"y.job"})
