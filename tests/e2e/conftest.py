"""Browser tests: the real app served on 127.0.0.1, driven by Playwright in Debian's Chromium.

Chromium comes from the system (``/usr/bin/chromium``, or ``LOANDESK_CHROMIUM``); Playwright
never downloads a browser. Outside CI a machine without Chromium skips these tests; in CI its
absence is a failure (``.ci/run`` installs it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("LOANDESK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In CI the SQLite and PostgreSQL suites run side by side and the browser tests run in
    the SQLite one only: what they check is the pages, which the database does not change,
    and the PostgreSQL run is the longer one. Anywhere else they run on either database."""
    if not os.environ.get("CI") or config.getoption("--db") != "postgresql":
        return
    skip = pytest.mark.skip(reason="browser tests run in CI's SQLite run")
    for item in items:
        if item.nodeid.startswith("tests/e2e/"):
            item.add_marker(skip)


@contextlib.contextmanager
def served(app: Flask) -> Iterator[str]:
    """``app`` served on a free local port, in a thread, for as long as the block runs."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    with served(app) as url:
        yield url


@pytest.fixture(scope="package")
def _chromium() -> Iterator[object]:
    """One Chromium for the browser tests (closed when they are done, before the rest of the
    suite runs): starting it takes seconds of CPU, which the PostgreSQL run
    beside this one needs. Each test gets a fresh context (cookies, storage, cache: nothing
    carries over from one test to the next)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM}; .ci/run installs it")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(_chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = _chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def settled(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until htmx has finished swapping and settling: what it swapped in listens for
    clicks and changes only from then on (a person is never this fast; the browser driver
    is, on a busy machine)."""
    from playwright.sync_api import expect

    busy = page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")
    expect(busy).to_have_count(0)


def signed_in(page, live_server: str, slug: str, email: str, password: str) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    """Sign ``email`` in on ``page``, watching from the start: the CSP violations and the
    page errors seen from then on (lists that keep filling)."""
    import re

    from tests.e2e.test_csp import _watch

    violations = _watch(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/t/{slug}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{slug}/$"))
    return violations, errors
