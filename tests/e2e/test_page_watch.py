"""The watch every browser test runs under (``PageWatch`` in ``conftest.py``) really fails a
test: a small suite that uses the same ``browser_page`` and ``page_allows`` fixtures and the
same report hook runs in its own pytest process against pages that throw, log an error, ask
for a missing file, or cannot reach their server; each of those tests must fail, listing what
went wrong, and a failing test must leave its screenshot, HTML and URL behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM, REPO

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow

CONFTEST = """
import socket

import pytest
from flask import Flask

from tests.e2e.conftest import (  # the fixtures and the hook under test, as they are
    _chromium,
    _page_watch,
    browser_page,
    page_allows,
    pytest_runtest_makereport,
    served,
)

PAGE = "<!doctype html><html><body><h1>{title}</h1>{extra}</body></html>"


def closed_port():
    with socket.socket() as sock:  # a port nothing listens on (it was free a moment ago)
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def site():
    app = Flask("inner")
    pages = {
        "ok": "",
        "throws": "<script>throw new Error('boom from the page')</script>",
        "logs": "<script>console.error('logged by the page')</script>",
        "image": '<img src="/static/missing.png" alt="">',
        "unreachable": (
            f"<script>fetch('http://127.0.0.1:{closed_port()}/nothing').catch(() => {{}})</script>"
        ),
    }

    @app.get("/<name>")
    def page(name):
        if name not in pages:
            return "no such page", 404
        return PAGE.format(title=name, extra=pages[name])

    with served(app) as url:
        yield url
"""

TESTS = """
def test_clean(browser_page, site):
    browser_page.goto(f"{site}/ok")

def test_throws(browser_page, site):
    browser_page.goto(f"{site}/throws")
    browser_page.wait_for_timeout(200)

def test_logs(browser_page, site):
    browser_page.goto(f"{site}/logs")
    browser_page.wait_for_timeout(200)

def test_missing_image(browser_page, site):
    browser_page.goto(f"{site}/image")
    browser_page.wait_for_load_state("load")

def test_unreachable(browser_page, site):
    browser_page.goto(f"{site}/unreachable")
    browser_page.wait_for_timeout(500)

def test_missing_image_allowed(browser_page, page_allows, site):
    page_allows(404, "/static/missing.png")
    browser_page.goto(f"{site}/image")
    browser_page.wait_for_load_state("load")

def test_logs_allowed(browser_page, page_allows, site):
    page_allows(console="logged by the page")
    browser_page.goto(f"{site}/logs")
    browser_page.wait_for_timeout(200)

def test_allowance_never_used(browser_page, page_allows, site):
    page_allows(422, "/signup")
    browser_page.goto(f"{site}/ok")

def test_fails_on_its_own(browser_page, site):
    browser_page.goto(f"{site}/ok")
    assert browser_page.title() == "never this"
"""


def test_the_watch_fails_what_it_should(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    artifacts = tmp_path / "artifacts"
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("LOANDESK_E2E_ARTIFACTS", str(artifacts))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=TESTS)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    out = result.stdout.str()
    # every test but the last passes its own body; the four broken pages then error at
    # teardown, as does the allowance nothing used; the last test fails
    result.assert_outcomes(passed=8, errors=5, failed=1)
    assert "ERROR test_inner.py::test_clean" not in out
    assert "ERROR test_inner.py::test_missing_image_allowed" not in out
    assert "ERROR test_inner.py::test_logs_allowed" not in out
    result.stdout.fnmatch_lines(
        [
            "ERROR test_inner.py::test_throws*",
            "ERROR test_inner.py::test_logs*",
            "ERROR test_inner.py::test_missing_image -*",
            "ERROR test_inner.py::test_unreachable*",
            "ERROR test_inner.py::test_allowance_never_used*",
            "FAILED test_inner.py::test_fails_on_its_own*",
        ],
        consecutive=False,
    )
    assert "JavaScript error: Error: boom from the page" in out
    assert "console error: logged by the page" in out
    assert "HTTP 404: GET http://127.0.0.1:" in out and "/static/missing.png" in out
    assert "/nothing: net::ERR_CONNECTION_REFUSED" in out
    assert "allowed but never seen: HTTP 422 from a URL with '/signup'" in out

    # the failed test's page is kept, and the report says where
    kept = artifacts / "test_inner.py_test_fails_on_its_own"
    assert f"kept in {kept}" in out
    assert (kept / "screenshot.png").read_bytes().startswith(b"\x89PNG")
    assert (kept / "url.txt").read_text().strip().endswith("/ok")
    assert "<h1>ok</h1>" in (kept / "page.html").read_text()
    # so is the page of a test the watch failed, with what it saw
    problems = artifacts / "test_inner.py_test_throws" / "problems.txt"
    assert "boom from the page" in problems.read_text()
    assert not (artifacts / "test_inner.py_test_clean").exists()


@pytest.mark.parametrize(
    "allowance",
    [
        {"status": 200, "url_part": "/x"},  # not a 4xx
        {"status": 422},  # from anywhere
        {"failure": "csp"},  # to anywhere
        {"console": ""},  # any console error
        {"status": 404, "url_part": "/x", "console": "y"},  # two things at once
    ],
)
def test_an_allowance_names_one_thing_exactly(allowance: dict[str, object]) -> None:
    from tests.e2e.conftest import PageWatch

    with pytest.raises(ValueError, match="allow one thing"):
        PageWatch().allow(**allowance)  # type: ignore[arg-type]
