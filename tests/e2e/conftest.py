"""Browser tests: the real app served on 127.0.0.1, driven by Playwright in Debian's Chromium.

Chromium comes from the system (``/usr/bin/chromium``, or ``LOANDESK_CHROMIUM``); Playwright
never downloads a browser. Outside CI a machine without Chromium skips these tests; in CI its
absence is a failure (``.ci/run`` installs it).

Every page a test gets from ``browser_page`` is watched (``PageWatch``): an uncaught
JavaScript error, a console error, a request that failed and a response with status 400 or
more all fail the test at teardown, listed. A request the page itself cancelled
(``net::ERR_ABORTED``: a navigation that leaves a loading page, htmx's ``hx-sync`` replacing
an older request, a download) is not a failure. A test that provokes one of the others on
purpose says exactly which with ``page_allows``; an allowance that nothing used fails the
test too, so it cannot outlive the behaviour it describes. When a test fails, its page is
kept under ``LOANDESK_E2E_ARTIFACTS`` (default ``e2e-artifacts/`` at the repository's root):
a full-page screenshot, the page's HTML and its URL, and what the watch saw.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("LOANDESK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]


def artifacts_dir() -> Path:
    """Where failed browser tests leave their screenshots: ``LOANDESK_E2E_ARTIFACTS`` or
    ``e2e-artifacts/`` at the repository's root."""
    return Path(os.environ.get("LOANDESK_E2E_ARTIFACTS") or REPO / "e2e-artifacts")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """When a test that drives a browser page fails, keep that page (it is still open: the
    fixtures' teardown comes after this report) and say where, beside the failure."""
    report = yield
    page = getattr(item, "funcargs", {}).get("browser_page")
    if report.when == "call" and report.failed and page is not None:
        try:
            folder = keep_page(page, item.nodeid)
        except Exception as error:  # a crashed page: the failure itself still counts
            report.sections.append(("browser page", f"could not be kept: {error}"))
        else:
            report.sections.append(("browser page", f"kept in {folder}"))
    return report


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


@dataclass(frozen=True)
class Allowed:
    """Something a test provokes on purpose. ``status``: a response with that 4xx status from
    a URL containing ``url_part``; ``failure``: a request to such a URL failing with a text
    containing ``failure`` (``net::ERR_BLOCKED_BY_CSP``...); ``console``: a console error
    whose text contains ``console``."""

    status: int | None = None
    url_part: str = ""
    failure: str | None = None
    console: str | None = None

    def __str__(self) -> str:
        if self.status is not None:
            return f"HTTP {self.status} from a URL with {self.url_part!r}"
        if self.failure is not None:
            return f"request failure {self.failure!r} for a URL with {self.url_part!r}"
        return f"console error with {self.console!r}"


# htmx logs a response it does not swap as a console error naming the status and the path.
_HTMX_STATUS = re.compile(r"Response Status Error Code (\d+) from (\S+)")
# htmx logs a request it aborted (and the end of that request) as console errors.
_HTMX_ABORT = ("htmx:sendAbort", "htmx:afterRequest")
CANCELLED = "net::ERR_ABORTED"


@dataclass
class PageWatch:
    """What went wrong on the pages of one browser context, as it happened.

    Recorded: uncaught exceptions (``pageerror``), console messages of type error,
    requests that failed (``requestfailed``) and responses with status >= 400, except
    those an ``Allowed`` covers and requests the page cancelled itself. Chromium's own
    "Failed to load resource" console line repeats a failed request or an error response,
    which are recorded as such (with the URL, and subject to the allowances), so it is not
    recorded twice."""

    problems: list[str] = field(default_factory=list)
    allowed: list[Allowed] = field(default_factory=list)
    used: set[Allowed] = field(default_factory=set)

    def allow(
        self,
        status: int | None = None,
        url_part: str = "",
        *,
        failure: str | None = None,
        console: str | None = None,
    ) -> None:
        if status is not None:
            wanted = 400 <= status < 500 and url_part and failure is None and console is None
        elif failure is not None:
            wanted = bool(url_part) and console is None
        else:
            wanted = bool(console) and not url_part
        if not wanted:
            raise ValueError(
                "allow one thing: a 4xx status or a request failure from a named URL part, "
                "or a console error by its text"
            )
        self.allowed.append(Allowed(status, url_part, failure, console))

    def _is_allowed(self, check: Callable[[Allowed], bool]) -> bool:
        for allowed in self.allowed:
            if check(allowed):
                self.used.add(allowed)
                return True
        return False

    def _status_allowed(self, status: int, url: str) -> bool:
        return self._is_allowed(lambda a: a.status == status and a.url_part in url)

    def watch(self, page) -> None:  # type: ignore[no-untyped-def]
        page.on("pageerror", self.on_page_error)
        page.on("console", self.on_console)
        page.on("requestfailed", self.on_request_failed)
        page.on("response", self.on_response)

    def on_page_error(self, error) -> None:  # type: ignore[no-untyped-def]
        name = getattr(error, "name", "") or "Error"
        frames = (getattr(error, "stack", "") or "").splitlines()[1:2]  # where it was thrown
        where = f" ({frames[0].strip()})" if frames else ""
        self.problems.append(f"JavaScript error: {name}: {getattr(error, 'message', error)}{where}")

    def on_console(self, message) -> None:  # type: ignore[no-untyped-def]
        text = message.text
        if message.type != "error" or text.startswith("Failed to load resource"):
            return
        if text.startswith(_HTMX_ABORT):  # the cancelled request itself is not a failure
            return
        htmx = _HTMX_STATUS.search(text)
        if htmx and self._status_allowed(int(htmx.group(1)), htmx.group(2)):
            return
        if self._is_allowed(lambda a: a.console is not None and a.console in text):
            return
        where = (message.location or {}).get("url") or ""
        self.problems.append(f"console error: {text} ({where})")

    def on_request_failed(self, request) -> None:  # type: ignore[no-untyped-def]
        failure, url = request.failure or "", request.url
        if failure == CANCELLED:
            return
        if self._is_allowed(
            lambda a: a.failure is not None and a.failure in failure and a.url_part in url
        ):
            return
        self.problems.append(f"request failed: {request.method} {url}: {failure}")

    def on_response(self, response) -> None:  # type: ignore[no-untyped-def]
        if response.status >= 400 and not self._status_allowed(response.status, response.url):
            request = response.request
            self.problems.append(f"HTTP {response.status}: {request.method} {response.url}")

    def unused(self) -> list[Allowed]:
        return [allowed for allowed in self.allowed if allowed not in self.used]

    def verdict(self) -> str | None:
        """What the test did wrong in the browser, or None."""
        lines = list(self.problems)
        lines += [f"allowed but never seen: {allowed}" for allowed in self.unused()]
        if not lines:
            return None
        return "the browser saw problems:\n  " + "\n  ".join(lines)


def keep_page(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    """Save ``page`` (full-page screenshot, HTML, URL) under the artifacts folder, in a
    folder named after the test; return that folder. A page too long to shoot whole in
    a few seconds (the API docs) is shot as far as the window shows."""
    from playwright.sync_api import Error

    folder = artifacts_dir() / re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "url.txt").write_text(page.url + "\n", encoding="utf-8")
    with contextlib.suppress(Error):  # a page that is still loading has no content yet
        (folder / "page.html").write_text(page.content(), encoding="utf-8")
    shot = str(folder / "screenshot.png")
    try:
        page.screenshot(path=shot, full_page=True, timeout=10_000)
    except Error:
        page.screenshot(path=shot, timeout=10_000)
    return folder


@pytest.fixture
def _page_watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page_allows(_page_watch: PageWatch) -> Callable[..., None]:
    """Declare what the test provokes on purpose, one thing a call:
    ``page_allows(422, "/signup")`` (a form sent back with its errors: the app answers 422),
    ``page_allows(failure="net::ERR_BLOCKED_BY_CSP", url_part="cdn.redoc.ly")``,
    ``page_allows(console="violates the following Content Security Policy directive")``.
    Everything else still fails the test, and so does an allowance nothing used."""
    return _page_watch.allow


@pytest.fixture
def browser_page(request: pytest.FixtureRequest, _chromium, _page_watch: PageWatch):  # type: ignore[no-untyped-def]
    """A fresh browser context's page, watched by ``PageWatch`` (see the module's
    docstring); kept under the artifacts folder when the test fails."""
    context = _chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    context.on("page", _page_watch.watch)  # the first page, and any pop-up it opens
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
        verdict = _page_watch.verdict()
        if verdict:
            try:
                folder = keep_page(page, request.node.nodeid)
                (folder / "problems.txt").write_text(verdict + "\n", encoding="utf-8")
                kept = f"browser page kept in {folder}"
            except Exception as error:  # the verdict matters more than the picture
                kept = f"browser page could not be kept: {error}"
            pytest.fail(f"{verdict}\n{kept}", pytrace=False)
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
