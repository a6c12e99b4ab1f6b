# ruff: noqa: F811  (fixtures imported from the customer tests are used by name)
"""To-dos in the browser: a risk manager creates an overdue to-do for the credit officers'
role; a credit officer sees it red in the list and in the menu's badge, ticks it off (htmx),
and the badge goes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.plugins.customers.conftest import PASSWORD, firm  # noqa: F401

pytestmark = pytest.mark.slow


def _sign_in(page, base: str, slug: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/t/{slug}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{slug}/$"))


def test_a_role_todo_is_created_seen_overdue_and_ticked_off(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    firm,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    slug = firm.tenant.slug
    page = browser_page
    _sign_in(page, live_server, slug, firm.staff["risk"].email)
    page.goto(f"{live_server}/t/{slug}/todos/")
    expect(page.locator(".empty-state[data-empty=open]")).to_be_visible()
    page.click("details.todo-create summary")
    page.fill("#f-title", "回访逾期客户")
    page.select_option("#f-assignee", "role:credit_officer")
    page.fill("#f-due_date", "2020-05-01")
    page.fill("#f-due_time", "09:30")
    page.click("details.todo-create button[type=submit]")
    row = page.locator("tr.todo-row", has_text="回访逾期客户")
    expect(row).to_have_class(re.compile("todo-overdue"))
    expect(row).to_contain_text("2020-05-01 09:30")
    page.locator("form[action$='/logout'] button").first.click()

    _sign_in(page, live_server, slug, firm.staff["officer1"].email)
    badges = page.locator("#nav-counts-tenant-todos-index .nav-count")
    expect(badges).to_have_count(2)  # open (grey) and overdue (red)
    expect(
        page.locator("#nav-counts-tenant-todos-index .nav-count:not(.nav-count-muted)")
    ).to_have_count(1)
    page.locator("a.nav-item[href$='/todos/']").click()
    row = page.locator("tr.todo-row", has_text="回访逾期客户")
    expect(row).to_have_attribute("data-state", "open")
    page.screenshot(path=str(tmp_path / "todos.png"), full_page=True)
    row.locator("button").first.click()
    expect(row).to_have_attribute("data-state", "done")
    expect(badges).to_have_count(0)
