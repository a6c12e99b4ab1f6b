# ruff: noqa: F811  (fixtures imported from tests.platform.job_fixtures are used by name)
"""Jobs and events in a real ``loandesk worker`` process: on the database (embedded mode) and,
in the PostgreSQL + Redis run, on rq. The same suite runs against both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from loandesk.events import EventDelivery, OutboxEvent, stale_backlog
from loandesk.settings import Settings
from loandesk.tenancy import service as tenants
from loandesk.tenancy import use
from tests.helpers import ApiClient, TenantFixture, make_tenant
from tests.platform.job_fixtures import job_app, job_settings  # noqa: F401  (fixtures)

# Each test starts worker processes: seconds each, so they run in CI and `dev.py test`.
pytestmark = [pytest.mark.usefixtures("hello_distribution"), pytest.mark.slow]
LOANDESK = str(Path(sys.executable).parent / "loandesk")


@pytest.fixture
def worker_env(job_settings: Settings, hello_distribution: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LOANDESK_DATABASE_URL": job_settings.database_url,
        "LOANDESK_MIGRATION_DATABASE_URL": job_settings.migration_database_url,
        "LOANDESK_REDIS_URL": job_settings.redis_url,
        "LOANDESK_INSTANCE_PATH": str(job_settings.instance_path),
        "PYTHONPATH": os.pathsep.join([str(hello_distribution), os.environ.get("PYTHONPATH", "")]),
    }


def run_worker(env: dict[str, str]) -> str:
    done = subprocess.run(
        [LOANDESK, "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def enable_hello(app: Flask, tenant: TenantFixture, **settings: object) -> None:
    api = ApiClient(app.test_client(), tenant.token)
    body = {"enabled": True, "settings": {"greeting": "hi", **settings}}
    response = api.client.put(
        "/api/v1/plugins/hello", json=body, headers={"Authorization": f"Bearer {tenant.token}"}
    )
    assert response.status_code == 200, response.get_json()


def enqueue(app: Flask, name: str, tenant: TenantFixture | None, *args: object) -> str:
    from loandesk.jobs.runtime import jobs

    with app.app_context():
        return jobs().enqueue(name, uuid.UUID(tenant.id) if tenant else None, *args)


def info(app: Flask, job_id: str):  # type: ignore[no-untyped-def]
    from loandesk.jobs.runtime import jobs

    with app.app_context():
        return jobs().info(job_id)


def test_a_plugin_job_runs_only_for_the_tenant_that_enabled_it(
    job_app: Flask, worker_env: dict[str, str], tmp_path: Path
) -> None:
    a, b = make_tenant(job_app, "jobs-a"), make_tenant(job_app, "jobs-b")
    enable_hello(job_app, a)
    out = tmp_path / "record.txt"
    first = enqueue(job_app, "hello.record", a, str(out), "x")
    enqueue(job_app, "hello.record", b, str(out), "y")
    run_worker(worker_env)
    assert lines(out) == ["jobs-a:x:1"]
    assert info(job_app, first).state == "done"


def test_retries_with_backoff_then_success(job_app, worker_env, tmp_path: Path) -> None:
    a = make_tenant(job_app, "jobs-a")
    enable_hello(job_app, a)
    out = tmp_path / "flaky.txt"
    job_id = enqueue(job_app, "hello.flaky", a, str(out), 2)
    for _ in range(3):
        run_worker(worker_env)
        if info(job_app, job_id).state == "done":
            break
    assert lines(out) == ["attempt:1", "attempt:2", "attempt:3"]
    assert info(job_app, job_id).state == "done"


def test_dead_letter_and_retry(job_app, worker_env, tmp_path: Path) -> None:
    from loandesk.jobs.runtime import jobs

    a = make_tenant(job_app, "jobs-a")
    enable_hello(job_app, a)
    out = tmp_path / "dead.txt"
    job_id = enqueue(job_app, "hello.flaky", a, str(out), 3)
    for _ in range(3):
        run_worker(worker_env)
    assert len(lines(out)) == 3
    with job_app.app_context():
        dead = jobs().dead(uuid.UUID(a.id))
        assert [d.id for d in dead] == [job_id]
        assert "failing on purpose" in (dead[0].error or "")
        assert jobs().dead(None) == []
        jobs().retry(job_id)
    run_worker(worker_env)
    assert len(lines(out)) == 4 and info(job_app, job_id).state == "done"


def test_progress_is_reported(job_app, worker_env) -> None:
    a = make_tenant(job_app, "jobs-a")
    enable_hello(job_app, a)
    job_id = enqueue(job_app, "hello.count", a, 7)
    run_worker(worker_env)
    done = info(job_app, job_id)
    assert (done.state, done.progress_done, done.progress_total) == ("done", 7, 7)


def test_bad_enqueues_are_refused(job_app) -> None:
    from loandesk.jobs import JobError

    with pytest.raises(JobError, match="unknown job"):
        enqueue(job_app, "hello.nope", None)
    with pytest.raises(JobError, match="plain values"):
        enqueue(job_app, "hello.record", None, object())


def _create_user(app: Flask, tenant: TenantFixture, email: str) -> str:
    api = ApiClient(app.test_client(), tenant.token)
    r = api.post("/users", json={"email": email, "display_name": email.split("@")[0]})
    assert r.status_code == 201
    return str(r.get_json()["id"])


def test_each_committed_event_is_handled_once_and_rolled_back_ones_never(
    job_app: Flask, worker_env, tmp_path: Path
) -> None:
    a, b = make_tenant(job_app, "events-a"), make_tenant(job_app, "events-b")
    run_worker(worker_env)  # deliver the sign-up's events while no handler listens
    log = tmp_path / "events.txt"
    enable_hello(job_app, a, log_path=str(log))
    ids = [_create_user(job_app, a, f"u{i}@a.cn") for i in range(3)]
    _create_user(job_app, b, "other@b.cn")  # B has not enabled the plugin

    from loandesk.auth import users

    db = job_app.extensions["loandesk"].db
    with job_app.app_context():
        with db.transaction() as s:
            ref = tenants.get_by_slug(s, a.slug).ref()
        with use(ref):
            session = db.session_factory()
            users.create_user(session, email="ghost@a.cn", display_name="ghost")
            session.rollback()
            session.close()

    run_worker(worker_env)
    run_worker(worker_env)  # nothing left: no handler runs twice
    assert lines(log) == [
        x for i in ids for x in (f"start:user.created:{i}", f"done:user.created:{i}")
    ]
    with use(ref), db.transaction() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.delivered_at.is_(None))
            )
            == 0
        )
        assert s.scalar(select(func.count()).select_from(EventDelivery)) == 3


def test_a_worker_killed_mid_delivery_leads_to_redelivery(
    job_app: Flask, worker_env, tmp_path: Path
) -> None:
    a = make_tenant(job_app, "events-a")
    run_worker(worker_env)  # deliver the sign-up's events while no handler listens
    log = tmp_path / "events.txt"
    enable_hello(job_app, a, log_path=str(log), slow_seconds=60)
    user_id = _create_user(job_app, a, "slow@a.cn")
    worker = subprocess.Popen(
        [LOANDESK, "worker"],
        env=worker_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(300):
            if lines(log):
                break
            time.sleep(0.1)
        assert lines(log) == [f"start:user.created:{user_id}"]
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    enable_hello(job_app, a, log_path=str(log), slow_seconds=0)

    db = job_app.extensions["loandesk"].db
    from datetime import timedelta

    from loandesk.db import utcnow

    with db.transaction() as s:
        assert uuid.UUID(a.id) in stale_backlog(
            s, timedelta(minutes=1), now=utcnow() + timedelta(minutes=2)
        )
    enqueue(job_app, "core.sweep_events", None, 0)  # what the one-minute schedule does
    run_worker(worker_env)
    assert lines(log)[-2:] == [f"start:user.created:{user_id}", f"done:user.created:{user_id}"]
    with job_app.app_context():
        with db.transaction() as s:
            ref = tenants.get_by_slug(s, a.slug).ref()
    with use(ref), db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(EventDelivery)) == 1


def test_admin_sees_failed_jobs_retries_them_and_follows_progress(
    job_app: Flask, worker_env, tmp_path: Path
) -> None:
    from tests.helpers import csrf_from, web_login

    a, b = make_tenant(job_app, "jobs-a"), make_tenant(job_app, "jobs-b")
    enable_hello(job_app, a)
    out = tmp_path / "dead.txt"
    dead_id = enqueue(job_app, "hello.flaky", a, str(out), 3)
    for _ in range(3):
        run_worker(worker_env)
    client = job_app.test_client()
    web_login(client, a)
    page = client.get(f"/t/{a.slug}/admin/jobs").get_data(as_text=True)
    assert "hello.flaky" in page and "failing on purpose" in page
    status = client.get(f"/t/{a.slug}/admin/jobs/{dead_id}", headers={"HX-Request": "true"})
    assert "hx-trigger" not in status.get_data(as_text=True)  # ended: no more polling
    token = csrf_from(client, f"/t/{a.slug}/admin/jobs")
    assert (
        client.post(
            f"/t/{a.slug}/admin/jobs/{dead_id}/retry", data={"csrf_token": token}
        ).status_code
        == 302
    )
    queued = client.get(f"/t/{a.slug}/admin/jobs/{dead_id}", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in queued.get_data(as_text=True)  # polls while it may change
    run_worker(worker_env)
    count_id = enqueue(job_app, "hello.count", a, 4)
    run_worker(worker_env)
    done = client.get(f"/t/{a.slug}/admin/jobs/{count_id}").get_data(as_text=True)
    assert '<progress max="4" value="4"' in done
    # another tenant's admin cannot see or retry it
    other = job_app.test_client()
    web_login(other, b)
    assert other.get(f"/t/{b.slug}/admin/jobs/{dead_id}").status_code == 404
    assert "hello.flaky" not in other.get(f"/t/{b.slug}/admin/jobs").get_data(as_text=True)


def test_a_plugin_table_is_migrated_and_isolated(job_app: Flask, worker_env) -> None:
    a, b = make_tenant(job_app, "jobs-a"), make_tenant(job_app, "jobs-b")
    enable_hello(job_app, a)
    enable_hello(job_app, b)
    enqueue(job_app, "hello.store", a, "来自 A")
    enqueue(job_app, "hello.store", b, "from B")
    run_worker(worker_env)
    for tenant, expected in ((a, ["来自 A"]), (b, ["from B"])):
        api = ApiClient(job_app.test_client(), tenant.token)
        assert api.get("/hello/greetings").get_json() == {"greetings": expected}
