"""A data-subject request in a real browser: recorded (a bad ID number is refused next to its
field), found by the person's mobile number, shown in full with htmx, answered."""

from __future__ import annotations

import re

import pytest

from tests.helpers import make_tenant

pytestmark = pytest.mark.slow


def test_record_find_reveal_and_answer_a_request(
    app, live_server: str, browser_page, page_allows, tmp_path
) -> None:
    from playwright.sync_api import expect

    tenant = make_tenant(app, "dsr-e2e")
    page = browser_page
    page_allows(422, "/data-requests/new")  # the form comes back with its messages
    page.goto(f"{live_server}/t/{tenant.slug}/login")
    page.fill("input[name=email]", tenant.admin_email)
    page.fill("input[name=password]", tenant.admin_password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{tenant.slug}/$"))

    page.locator(".nav a", has_text="个人信息权利请求").click()
    page.locator(".page-header a.btn-primary").click()
    page.select_option("select[name=kind]", "deletion")
    page.fill("input[name=subject_name]", "张三")
    page.fill("input[name=subject_id_number]", "110105194912310021")
    page.fill("input[name=subject_mobile]", "138 0013 8000")
    page.click("form button[type=submit].btn-primary")
    expect(page.locator(".form-field.has-error input[name=subject_id_number]")).to_be_visible()
    expect(page.locator("input[name=subject_mobile]")).to_have_value("138 0013 8000")
    page.fill("input[name=subject_id_number]", "11010519491231002X")
    page.click("form button[type=submit].btn-primary")
    page.wait_for_url(re.compile(r"/data-requests/[0-9a-f-]{36}$"))
    expect(page.locator("#subject")).to_contain_text("138****8000")

    page.locator("#subject button").click()  # htmx swaps in the full values
    expect(page.locator("#subject")).to_contain_text("13800138000")
    expect(page.locator("#subject button")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "request.png"), full_page=True)

    page.click("button[name=to][value=in_progress]")
    expect(page.locator(".flash-success")).to_be_visible()
    page.fill("textarea[name=note]", "已删除营销名单中的手机号")
    page.click("button[name=to][value=completed]")
    expect(page.locator("button[name=to]")).to_have_count(0)
    expect(page.locator("table")).to_contain_text("已删除营销名单中的手机号")

    page.goto(f"{live_server}/t/{tenant.slug}/data-requests")
    page.fill("input[name=subject]", "+86 13800138000")
    page.locator("form[action$='/search'] button").click()
    expect(page.locator("#requests-table tbody tr")).to_have_count(1)
    assert "13800138000" not in page.url
    page.screenshot(path=str(tmp_path / "requests.png"), full_page=True)
