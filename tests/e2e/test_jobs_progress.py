"""A long job's progress bar, live in the browser: the embedded job thread runs the job while
htmx polls its status fragment, and polling stops when the job is done."""

from __future__ import annotations

import re
import threading
import uuid

import pytest

from tests.helpers import ApiClient, make_tenant

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("hello_distribution")]


def test_progress_bar_follows_a_running_job(app, live_server: str, browser_page) -> None:
    from playwright.sync_api import expect

    from loandesk.jobs.database import DatabaseBackend
    from loandesk.jobs.runtime import execute, jobs

    tenant = make_tenant(app, "progress")
    api = ApiClient(app.test_client(), tenant.token)
    enabled = api.client.put(
        "/api/v1/plugins/hello",
        json={"enabled": True, "settings": {"greeting": "hi"}},
        headers={"Authorization": f"Bearer {tenant.token}"},
    )
    assert enabled.status_code == 200
    with app.app_context():
        registry = jobs()
        backend = registry.backend
        if not isinstance(backend, DatabaseBackend):
            pytest.skip("the embedded job thread runs on the database backend")
        job_id = registry.enqueue("hello.count", uuid.UUID(tenant.id), 8, 400)

    page = browser_page
    page.goto(f"{live_server}/t/progress/login")
    page.fill("input[name=email]", tenant.admin_email)
    page.fill("input[name=password]", tenant.admin_password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(r"/t/progress/$"))
    page.goto(f"{live_server}/t/progress/admin/jobs/{job_id}")
    expect(page.locator(".job-status .badge")).to_have_text("排队中")

    stop = threading.Event()
    worker = threading.Thread(
        target=backend.work,
        args=(lambda *a: execute(app, *a), registry.queues),
        kwargs={"stop": stop, "poll_interval": 0.2},
        daemon=True,
    )
    worker.start()
    try:
        progress = page.locator(".job-status progress")
        expect(progress).to_be_visible(timeout=10_000)
        seen = int(progress.get_attribute("value") or 0)
        assert 0 < seen <= 8
        expect(page.locator(".job-status .badge")).to_have_text("已完成", timeout=15_000)
        expect(progress).to_have_attribute("value", "8")
        assert page.locator(".job-status[hx-trigger]").count() == 0  # polling ended
    finally:
        stop.set()
        worker.join(timeout=10)
