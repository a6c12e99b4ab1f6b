"""Single sign-on in a real browser: the admin sets the provider up on the settings page, tests
discovery (htmx), and a colleague signs in through the provider; one whose groups map to no
role sees why not."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.helpers import ApiClient
from tests.platform.oidc_provider import Provider

pytestmark = pytest.mark.slow


class _Deferred:
    """A WSGI app set after the server knows its port (the app's base URL needs it)."""

    app: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


@pytest.fixture
def sso_server(app: Flask, settings) -> Iterator[tuple[str, Flask]]:
    from loandesk.app import create_app

    deferred = _Deferred()
    server = make_server("127.0.0.1", 0, deferred, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    deferred.app = create_app(settings.replace(base_url=url))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url, deferred.app
    finally:
        server.shutdown()
        thread.join(timeout=10)
        deferred.app.extensions["loandesk"].db.dispose()


@pytest.fixture
def provider() -> Iterator[Provider]:
    running = Provider().start()
    try:
        yield running
    finally:
        running.stop()


def test_admin_sets_up_sso_and_staff_sign_in_through_the_provider(
    sso_server, tenant_a, browser_page, page_allows, provider, tmp_path
) -> None:
    from playwright.sync_api import expect

    live, live_app = sso_server
    page = browser_page
    page_allows(403, "/sso/callback")  # the guest, whose group maps to no role, is refused
    slug = tenant_a.slug
    registered = provider.add_client(f"{live}/t/{slug}/sso/callback")

    page.goto(f"{live}/t/{slug}/login")
    page.fill("input[name=email]", tenant_a.admin_email)
    page.fill("input[name=password]", tenant_a.admin_password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf"/t/{slug}/$"))
    page.goto(f"{live}/t/{slug}/admin/sso")
    expect(page.locator(".secret-box")).to_have_text(f"{live}/t/{slug}/sso/callback")
    page.fill("input[name=display_name]", "统一身份认证")
    page.fill("input[name=issuer]", provider.issuer)
    page.fill("input[name=client_id]", registered.client_id)
    page.fill("input[name=client_secret]", registered.client_secret)
    page.fill("textarea[name=role_mapping]", "信贷部 = credit_officer")
    page.check("input[name=provision_users]")
    page.check("input[name=enabled]")
    page.locator("button[hx-post]").click()  # Test discovery, swapped in by htmx
    expect(page.locator("#sso-discovery .flash-success")).to_contain_text(provider.issuer)
    page.click("button[type=submit].btn-primary")
    expect(page.locator(".flash-success").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "sso-settings.png"), full_page=True)
    page.locator("form[action$='/logout'] button").first.click()
    page.wait_for_url(re.compile(rf"/t/{slug}/login"))

    provider.add_user(
        "ding-0001",
        email="xu@tenant-a.example.cn",
        email_verified=True,
        name="徐信审",
        groups=["信贷部"],
    )
    provider.sign_in_as = "ding-0001"
    page.locator(f"a[href*='/t/{slug}/sso/login']").click()
    page.wait_for_url(re.compile(rf"{re.escape(live)}/t/{slug}/$"))
    expect(page.locator(".app-topbar")).to_contain_text("徐信审")
    page.locator("form[action$='/logout'] button").first.click()
    page.wait_for_url(re.compile(rf"/t/{slug}/login"))

    provider.add_user(
        "ding-0002", email="guest@tenant-a.example.cn", email_verified=True, groups=["访客"]
    )
    provider.sign_in_as = "ding-0002"
    page.locator(f"a[href*='/t/{slug}/sso/login']").click()
    page.wait_for_url(re.compile(rf"/t/{slug}/sso/callback"))
    expect(page.locator(".flash-error")).to_be_visible()
    page.goto(f"{live}/t/{slug}/")
    page.wait_for_url(re.compile(rf"/t/{slug}/login"))  # not signed in
    api = ApiClient(live_app.test_client(), tenant_a.token)
    assert api.get("/sso").get_json()["role_mapping"] == {"信贷部": ["credit_officer"]}
