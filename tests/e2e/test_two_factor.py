"""Two-factor sign-in in a real browser: set it up on My account from the QR page (the key
typed into pyotp, as into an app), keep the recovery codes, sign out, and sign in again with
the password and then a code. The page's QR code must not break the Content-Security-Policy."""

from __future__ import annotations

import re

import pyotp
import pytest

from tests.e2e.test_csp import _watch
from tests.two_factor_helpers import Clock

pytestmark = pytest.mark.slow


def test_set_up_two_factor_and_sign_in_with_a_code(
    app, live_server: str, browser_page, tenant_a, tmp_path
) -> None:
    from playwright.sync_api import expect

    clock = Clock(app)
    page = browser_page
    violations = _watch(page)
    base = f"{live_server}/t/{tenant_a.slug}"
    page.goto(f"{base}/login")
    page.fill("input[name=email]", tenant_a.admin_email)
    page.fill("input[name=password]", tenant_a.admin_password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{tenant_a.slug}/$"))

    page.goto(f"{base}/account")
    page.click(f"a.btn-primary[href='/t/{tenant_a.slug}/account/two-factor']")
    page.wait_for_url(re.compile(r"/account/two-factor$"))
    expect(page.locator(".qr-code svg")).to_be_visible()
    page.screenshot(path=str(tmp_path / "enrol.png"), full_page=True)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.fill("input[name=code]", pyotp.TOTP(secret).at(clock.now))
    page.click("button[type=submit].btn-primary")
    codes = page.locator(".recovery-codes li")
    expect(codes).to_have_count(10)
    page.screenshot(path=str(tmp_path / "recovery-codes.png"), full_page=True)
    page.click("a.btn-primary")  # saved them: back to the account page
    expect(page.locator("#two-factor-title + .actions .badge-success")).to_be_visible()
    page.screenshot(path=str(tmp_path / "account.png"), full_page=True)

    page.locator("form[action$='/logout'] button").first.click()
    page.wait_for_url(re.compile(r"/login$"))
    page.fill("input[name=email]", tenant_a.admin_email)
    page.fill("input[name=password]", tenant_a.admin_password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(r"/login/code$"))
    page.screenshot(path=str(tmp_path / "code.png"), full_page=True)
    clock.advance(30)
    page.fill("input[name=code]", pyotp.TOTP(secret).at(clock.now))
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{tenant_a.slug}/$"))
    expect(page.locator(".app-topbar")).to_contain_text(tenant_a.slug)
    assert violations == []
