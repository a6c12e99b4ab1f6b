# ruff: noqa: F811  (fixtures imported from tests.platform.job_fixtures are used by name)
"""Operations: JSON log lines (``LOANDESK_LOG_FORMAT=json``) that carry the request id, tenant
and job and keep personal data masked; ``X-Request-ID``; ``GET /metrics`` behind its token,
with bounded labels; job and queue metrics on both job backends."""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from loandesk.app import create_app
from loandesk.jobs import JobSpec
from loandesk.settings import Settings
from tests.helpers import ApiClient, TenantFixture, make_tenant, web_login
from tests.platform.job_fixtures import job_app, job_settings  # noqa: F401  (fixtures)

TOKEN = "metrics-token-0123456789abcdef"
MOBILE = "13800138000"
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """What the JSON handler of the apps made in the test writes (instead of stderr)."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        for handler in [h for h in root.handlers if getattr(h, "_loandesk_json", False)]:
            root.removeHandler(handler)
        root.setLevel(level)


def _json_app(settings: Settings, stream: io.StringIO) -> Flask:
    made = create_app(settings.replace(log_format="json", metrics_token=TOKEN))
    made.testing = True
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_loandesk_json", False)]
    assert len(ours) == 1
    ours[0].setStream(stream)  # type: ignore[attr-defined]
    return made


@pytest.fixture
def json_app(app: Flask, settings: Settings, log_stream: io.StringIO) -> Iterator[Flask]:
    """An app logging JSON, with /metrics on (``app`` empties the tables afterwards)."""
    made = _json_app(settings, log_stream)
    yield made
    made.extensions["loandesk"].db.dispose()


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def _logged(stream: io.StringIO, text: str) -> dict[str, Any]:
    found = [line for line in _lines(stream) if text in line["message"]]
    assert len(found) == 1, stream.getvalue()
    return found[0]


def _scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    samples = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- logs ------------------------------------------------------------------------------------


def test_json_lines_carry_request_id_and_tenant_and_mask_personal_data(
    json_app: Flask, log_stream: io.StringIO
) -> None:
    @json_app.after_request
    def _log(response: Any) -> Any:
        json_app.logger.warning("answered the borrower at %s, ID %s", MOBILE, ID_NUMBER)
        return response

    tenant = make_tenant(json_app, "tenant-log")
    client = ApiClient(json_app.test_client(), tenant.token)
    answer = client.get("/users", headers={"X-Request-ID": "req-0123456789"})
    assert answer.status_code == 200
    assert answer.headers["X-Request-ID"] == "req-0123456789"
    (line,) = [x for x in _lines(log_stream) if x.get("request_id") == "req-0123456789"]
    assert line["message"].startswith("answered the borrower")
    assert line["request_id"] == "req-0123456789"
    assert line["tenant"] == "tenant-log"
    assert line["level"] == "WARNING" and line["logger"] == "loandesk"
    assert line["time"].endswith("+00:00")
    assert "user_id" not in line  # an API client, not a staff member
    assert MOBILE not in log_stream.getvalue() and ID_NUMBER not in log_stream.getvalue()
    assert "138****8000" in line["message"]
    web = json_app.test_client()
    web_login(web, tenant)
    page = web.get(f"/t/{tenant.slug}/", headers={"X-Request-ID": "req-web-0123456"})
    assert page.status_code == 200
    (line,) = [x for x in _lines(log_stream) if x.get("request_id") == "req-web-0123456"]
    assert line["user_id"] == tenant.admin_user_id and line["tenant"] == "tenant-log"


def test_a_bad_request_id_is_replaced_by_a_new_one(
    json_app: Flask, log_stream: io.StringIO
) -> None:
    @json_app.after_request
    def _log(response: Any) -> Any:
        json_app.logger.warning("request seen")
        return response

    client = json_app.test_client()
    seen = set()
    for bad in ("<script>alert(1)</script>", "a" * 200, "short", "id with spaces 1234"):
        answer = client.get("/healthz", headers={"X-Request-ID": bad})
        given = answer.headers["X-Request-ID"]
        assert given != bad and uuid.UUID(given)
        seen.add(given)
    assert len(seen) == 4  # a new one each time
    assert client.get("/healthz").headers["X-Request-ID"] not in seen
    ids = {x.get("request_id") for x in _lines(log_stream) if x["message"] == "request seen"}
    assert seen <= ids
    assert "<script>" not in log_stream.getvalue()


def test_a_traceback_in_json_is_masked(json_app: Flask, log_stream: io.StringIO) -> None:
    with json_app.app_context():
        try:
            raise ValueError(f"borrower {MOBILE} not found")
        except ValueError:
            logging.getLogger("loandesk.test").exception("lookup failed for %s", ID_NUMBER)
    line = _logged(log_stream, "lookup failed")
    assert "ValueError: borrower 138****8000 not found" in line["exception"]
    assert MOBILE not in log_stream.getvalue() and ID_NUMBER not in log_stream.getvalue()
    assert "request_id" not in line and "tenant" not in line  # outside a request


def test_the_text_format_stays_the_default(app: Flask) -> None:
    assert Settings().log_format == "text"
    assert not [h for h in logging.getLogger().handlers if getattr(h, "_loandesk_json", False)]
    with pytest.raises(ValueError, match="LOANDESK_LOG_FORMAT"):
        Settings.from_env({"LOANDESK_LOG_FORMAT": "xml"})


# --- /metrics --------------------------------------------------------------------------------


def test_metrics_answer_only_with_the_token(client: FlaskClient, json_app: Flask) -> None:
    assert client.get("/metrics").status_code == 404  # no token set: no endpoint
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
    guarded = json_app.test_client()
    assert guarded.get("/metrics").status_code == 401
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN, "Bearer "):
        assert guarded.get("/metrics", headers={"Authorization": wrong}).status_code == 401
    answer = guarded.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.content_type.startswith("text/plain; version=")
    assert "loandesk_http_requests_total" in answer.get_data(as_text=True)


def test_requests_are_counted_by_route_template_not_path(json_app: Flask) -> None:
    client = json_app.test_client()
    tenant = make_tenant(json_app, "tenant-metrics")
    before = _scrape(client)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get(f"/t/{tenant.slug}/login").status_code == 200
    assert client.get("/no/such/page/0190d3c2-7b4e").status_code == 404
    api = ApiClient(client, tenant.token)
    missing = api.get(f"/users/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert client.open("/healthz", method="BREW").status_code == 405
    after = _scrape(client)

    def grew(route: str, status: str, method: str = "GET") -> float:
        labels = {"method": method, "route": route, "status": status}
        return _value(after, "loandesk_http_requests_total", **labels) - _value(
            before, "loandesk_http_requests_total", **labels
        )

    assert grew("/healthz", "2xx") == 3
    assert grew("/t/<tenant_slug>/login", "2xx") == 1
    assert grew("<unmatched>", "4xx") == 1
    assert grew("/api/v1/users/<uuid:user_id>", "4xx") == 1
    assert grew("<unmatched>", "4xx", method="other") == 1  # 405: no rule matched
    count = "loandesk_http_request_duration_seconds_count"
    assert _value(after, count, route="/healthz") - _value(before, count, route="/healthz") == 3
    body = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(
        as_text=True
    )
    for leaked in (tenant.slug, "0190d3c2", "/no/such", str(tenant.id), "BREW"):
        assert leaked not in body


# --- jobs and queues -------------------------------------------------------------------------


def _run_jobs(app: Flask) -> None:
    """What ``loandesk worker --burst`` does, in this process."""
    from loandesk.jobs.database import DatabaseBackend
    from loandesk.jobs.runtime import execute

    registry = app.extensions["loandesk.jobs"]
    if isinstance(registry.backend, DatabaseBackend):
        registry.backend.work(functools.partial(execute, app), registry.queues, burst=True)
        return
    from rq import SimpleWorker

    from loandesk.jobs.rq_backend import set_worker_app

    set_worker_app(app)
    queues = [registry.backend.queue(name) for name in registry.queues]
    SimpleWorker(queues, connection=registry.backend.redis).work(burst=True)


def test_jobs_are_counted_and_their_lines_carry_the_job(
    job_app: Flask, log_stream: io.StringIO, job_settings: Settings
) -> None:
    job_app.extensions["loandesk"].db.dispose()
    made = _json_app(job_settings, log_stream)
    try:
        registry = made.extensions["loandesk.jobs"]

        def noisy(ctx: Any, mobile: str) -> None:
            logging.getLogger("loandesk.test").warning("calling %s", mobile)

        def broken(_ctx: Any) -> None:
            raise RuntimeError("no luck")

        registry.register(JobSpec("core.test_noisy", noisy, queue="observe"))
        registry.register(JobSpec("core.test_broken", broken, queue="observe", max_attempts=1))
        tenant = make_tenant(made, "tenant-jobs")
        client = made.test_client()
        before = _scrape(client)
        job_id = registry.enqueue("core.test_noisy", uuid.UUID(tenant.id), MOBILE)
        registry.enqueue("core.test_broken", None)
        _run_jobs(made)
        after = _scrape(client)
    finally:
        made.extensions["loandesk"].db.dispose()

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("loandesk_jobs_total", job="core.test_noisy", outcome="done") == 1
    assert grew("loandesk_jobs_total", job="core.test_broken", outcome="error") == 1
    assert grew("loandesk_job_duration_seconds_count", job="core.test_noisy") == 1
    line = _logged(log_stream, "calling")
    assert line["job_id"] == job_id and line["job_name"] == "core.test_noisy"
    assert line["tenant"] == "tenant-jobs"
    assert line["message"] == "calling 138****8000"
    assert MOBILE not in log_stream.getvalue()


def test_queue_depth_is_read_from_redis(job_app: Flask, job_settings: Settings) -> None:
    made = create_app(job_settings.replace(metrics_token=TOKEN))
    try:
        tenant: TenantFixture = make_tenant(made, "tenant-queue")
        registry = made.extensions["loandesk.jobs"]
        for _ in range(3):
            registry.enqueue("core.deliver_events", uuid.UUID(tenant.id))
        queue = registry.specs["core.deliver_events"].queue
        samples = _scrape(made.test_client())
        waiting = registry.backend.queue(queue).count if job_settings.redis_url else 0
    finally:
        made.extensions["loandesk"].db.dispose()
    depth = {labels: v for (name, labels), v in samples.items() if name == "loandesk_queue_depth"}
    if not job_settings.redis_url:
        assert depth == {}  # the embedded mode keeps jobs in the database: no rq queue
        return
    assert depth[(("queue", queue),)] == waiting >= 3  # the events trigger may queue more
    assert set(depth) == {(("queue", name),) for name in registry.queues}


# --- gunicorn --------------------------------------------------------------------------------


@pytest.mark.slow
def test_gunicorn_logs_json_and_adds_up_its_workers_metrics(tmp_path: Path) -> None:
    """``loandesk serve`` with two gunicorn workers: the access log as JSON lines (request id,
    status, the query's mobile number masked), /metrics adding up both workers' counts."""
    from tests.platform.test_serve import LOANDESK, _free_port, _get, _run

    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        "LOANDESK_INSTANCE_PATH": str(tmp_path / "instance"),
        "LOANDESK_ENV": "production",
        "LOANDESK_SECRET_KEY": "s" * 40,
        "LOANDESK_MASTER_KEY": "m" * 40,
        "LOANDESK_LOG_FORMAT": "json",
        "LOANDESK_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    upgrade = subprocess.run(
        [LOANDESK, "db", "upgrade"], env={**os.environ, **env}, capture_output=True, check=False
    )
    assert upgrade.returncode == 0, upgrade.stderr
    port = _free_port()
    process = _run(["serve", "--port", str(port), "--workers", "2"], env)
    base = f"http://127.0.0.1:{port}"
    try:
        assert _get(f"{base}/healthz")[0] == 200
        for _ in range(9):
            request = urllib.request.Request(  # noqa: S310 (local URL)
                f"{base}/healthz?mobile={MOBILE}", headers={"X-Request-ID": "gunicorn-req-42"}
            )
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                assert answer.headers["X-Request-ID"] == "gunicorn-req-42"
        scrape = urllib.request.Request(  # noqa: S310 (local URL)
            f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        with urllib.request.urlopen(scrape, timeout=5) as answer:  # noqa: S310
            body = answer.read().decode()
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    counted = {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
        if s.name == "loandesk_http_requests_total"
    }
    assert counted[(("method", "GET"), ("route", "/healthz"), ("status", "2xx"))] == 10
    assert len(list(metrics_dir.iterdir())) >= 1
    lines = [json.loads(x) for x in output.splitlines() if x.startswith("{")]
    access = [x for x in lines if x["logger"] == "gunicorn.access"]
    assert len(access) >= 10, output
    tagged = [x for x in access if x.get("request_id") == "gunicorn-req-42"]
    assert len(tagged) == 9
    assert tagged[0]["status"] == 200 and tagged[0]["path"] == "/healthz"
    assert tagged[0]["query"] == "mobile=138****8000"
    assert any(x["logger"] == "gunicorn.error" for x in lines)  # "Booting worker ..."
    assert MOBILE not in output


# --- a worker's own /metrics ---------------------------------------------------------------


def _get_metrics(url: str, token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (local URL)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_a_worker_answers_its_own_metrics_behind_the_token(
    job_app: Flask, job_settings: Settings
) -> None:
    """``loandesk worker --metrics-port``: the jobs the worker ran, behind the same token as
    the web's /metrics, and no queue depth (the web processes report that once)."""
    from loandesk.observability import worker_http

    registry = job_app.extensions["loandesk.jobs"]
    registry.register(JobSpec("core.test_counted", lambda _ctx: None, queue="observe"))
    server = worker_http.serve(TOKEN, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        before = _get_metrics(f"{url}/metrics", TOKEN)
        registry.enqueue("core.test_counted", None)
        registry.enqueue("core.test_counted", None)
        _run_jobs(job_app)
        after = _get_metrics(f"{url}/metrics", TOKEN)
        assert _get_metrics(f"{url}/metrics", None)[0] == 401
        assert _get_metrics(f"{url}/metrics", "wrong-" + TOKEN)[0] == 401
        assert _get_metrics(f"{url}/elsewhere", TOKEN)[0] == 404
    finally:
        server.shutdown()
        job_app.extensions["loandesk"].db.dispose()

    def done(body: str) -> float:
        return sum(
            s.value
            for family in text_string_to_metric_families(body)
            for s in family.samples
            if s.name == "loandesk_jobs_total"
            and s.labels == {"job": "core.test_counted", "outcome": "done"}
        )

    assert before[0] == after[0] == 200
    assert done(after[1]) - done(before[1]) == 2
    assert "loandesk_queue_depth" not in after[1]


def test_a_worker_refuses_a_metrics_port_without_the_token(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from loandesk.cli import cli

    env = {"LOANDESK_INSTANCE_PATH": str(tmp_path), "LOANDESK_METRICS_TOKEN": ""}
    assert CliRunner().invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    result = CliRunner().invoke(cli, ["worker", "--burst", "--metrics-port", "0"], env=env)
    assert result.exit_code == 2
    assert "--metrics-port needs LOANDESK_METRICS_TOKEN" in result.output
