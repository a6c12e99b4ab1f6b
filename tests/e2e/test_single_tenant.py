"""A single-tenant install in a real browser: sign in at /login, go through the menu, add a
colleague and deactivate them with htmx (CSRF header included), switch language, sign out;
the browser never asks for a /t/<slug>/ address."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from loandesk.app import create_app
from tests.e2e.conftest import served

pytestmark = pytest.mark.slow


@pytest.fixture
def single_server(settings, tenant_a) -> Iterator[str]:  # type: ignore[no-untyped-def]
    app = create_app(settings.replace(single_tenant=tenant_a.slug))
    try:
        with served(app) as url:
            yield url
    finally:
        app.extensions["loandesk"].db.dispose()


def test_a_firm_works_without_the_prefix(single_server: str, browser_page, tenant_a) -> None:
    from playwright.sync_api import expect

    page = browser_page
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto(f"{single_server}/")  # a stranger is sent to the sign-in page
    page.wait_for_url(re.compile(r"/login(\?.*)?$"))
    page.fill("input[name=email]", tenant_a.admin_email)
    page.fill("input[name=password]", tenant_a.admin_password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{single_server}/")
    expect(page.locator(".app-topbar")).to_contain_text("tenant-a 小贷")

    page.locator(".nav a", has_text="员工账号").click()
    page.wait_for_url(f"{single_server}/admin/users")
    page.goto(f"{single_server}/admin/users/new")
    page.fill("input[name=email]", "li@a.cn")
    page.fill("input[name=display_name]", "李信审")
    page.fill("input[name=password]", "Credit-officer-1")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{single_server}/admin/users")
    row = page.locator("tr", has_text="li@a.cn")
    row.locator("form[hx-post] button").click()
    expect(page.locator("tr", has_text="li@a.cn").locator(".badge-muted")).to_be_visible()

    page.locator(".lang-switch button", has_text="English").first.click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.wait_for_url(f"{single_server}/admin/users")
    page.locator("form[action='/logout'] button").first.click()
    page.wait_for_url(re.compile(r"/login$"))

    page.goto(f"{single_server}/t/{tenant_a.slug}/admin/users")  # an old bookmark
    page.wait_for_url(re.compile(r"/login\?next=(/|%2F)admin(/|%2F)users$"))
    ours = [url for url in asked if url.startswith(single_server)]
    assert len(ours) > 10
    assert [url for url in ours if "/t/" in url] == [f"{single_server}/t/tenant-a/admin/users"]
