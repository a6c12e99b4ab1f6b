"""A firm's first day, in a real browser: sign up, sign in, invite a colleague, deactivate them
with htmx (CSRF header included), switch to English, sign out."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow


def test_sign_up_sign_in_and_manage_staff(
    live_server: str, browser_page, page_allows, tmp_path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page_allows(422, "/signup")  # the weak password: the form comes back with its message
    page.goto(f"{live_server}/signup")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.fill("input[name=name]", "明德小额贷款有限公司")
    page.fill("input[name=slug]", "mingde")
    page.fill("input[name=admin_name]", "张经理")
    page.fill("input[name=admin_email]", "zhang@mingde.cn")
    page.fill("input[name=admin_password]", "weak")
    page.click("button[type=submit].btn-primary")
    # the weak password is refused next to its field, and what was typed stays
    expect(page.locator(".form-field.has-error input[name=admin_password]")).to_be_visible()
    expect(page.locator("input[name=slug]")).to_have_value("mingde")
    page.fill("input[name=admin_password]", "Mingde-2026-ok")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(r"/t/mingde/login"))

    page.fill("input[name=email]", "zhang@mingde.cn")
    page.fill("input[name=password]", "Mingde-2026-ok")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(r"/t/mingde/$"))
    expect(page.locator(".app-topbar")).to_contain_text("明德小额贷款有限公司")

    page.goto(f"{live_server}/t/mingde/admin/users/new")
    page.fill("input[name=email]", "li@mingde.cn")
    page.fill("input[name=display_name]", "李信审")
    page.fill("input[name=password]", "Credit-officer-1")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(r"/t/mingde/admin/users$"))
    row = page.locator("tr", has_text="li@mingde.cn")
    expect(row.locator(".badge-success")).to_be_visible()

    page.on("dialog", lambda dialog: dialog.accept())
    row.locator("form[hx-post] button").click()
    expect(page.locator("tr", has_text="li@mingde.cn").locator(".badge-muted")).to_be_visible()
    page.screenshot(path=str(tmp_path / "users.png"), full_page=True)

    page.locator(".lang-switch button", has_text="English").first.click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".nav")).to_contain_text("Users")
    page.locator("form[action$='/logout'] button").first.click()
    page.wait_for_url(re.compile(r"/t/mingde/login"))
