# ruff: noqa: F811  (fixtures imported from the collections tests are used by name)
"""An overdue loan reaches a collector, in a real browser: a loan whose first installment
(due 2025-02-15) is unpaid falls overdue at close of business for 2025-02-20 (run through the
services, as the nightly job runs it); the M1 rule puts it in the phone team's queue; the
collector it went to signs in, finds it under My cases with its bucket and days past due,
opens the case and logs a call, which the work area shows in place (htmx)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.e2e.conftest import settled
from tests.plugins.collections.conftest import Floor, floor  # noqa: F401
from tests.plugins.customers.conftest import PASSWORD, firm  # noqa: F401
from tests.plugins.repayment.conftest import desk  # noqa: F401

pytestmark = pytest.mark.slow


def test_an_overdue_loan_reaches_the_collectors_queue(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    floor: Floor,
) -> None:
    from playwright.sync_api import expect

    loan = floor.desk.book()  # 12000.00 over 12 months, paid out on 2025-01-15
    floor.cob(dt.date(2025, 2, 20))
    case = floor.case_of(loan["id"])
    collector = next(name for name in ("phone1", "phone2") if floor.user(name) == case["owner_id"])
    slug = floor.desk.firm.tenant.slug
    page = browser_page

    page.goto(f"{live_server}/t/{slug}/login")
    page.fill("input[name=email]", floor.staff[collector].email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{slug}/$"))
    page.locator(".lang-switch button", has_text="English").first.click()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # the menu leads to the collections page; My cases holds the loan
    page.locator(f"a.nav-item[href$='/t/{slug}/collections/']").click()
    page.wait_for_url(re.compile(rf"/t/{slug}/collections/"))
    page.get_by_role("link", name="My cases").click()
    page.wait_for_url(re.compile(r"mine=1"))
    rows = page.locator("table[aria-label='Collection cases'] tbody tr")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_contain_text(loan["number"])
    expect(row.locator("td").nth(1)).to_have_text("M1")
    expect(row.locator("td").nth(2)).to_have_text("5")  # 2025-02-15 → 2025-02-20
    expect(row.locator("td").nth(4)).to_have_text("M1 电催组")

    # the case page; a call is logged and shows in the work area without a reload
    row.get_by_role("link", name=loan["number"]).click()
    page.wait_for_url(re.compile(rf"/t/{slug}/collections/cases/{case['id']}$"))
    expect(page.get_by_text("138****8000").first).to_be_visible()  # the phone, masked
    settled(page)
    page.select_option("#f-kind", "call")
    page.select_option("#f-outcome", "no_answer")
    page.fill("#f-note", "第一次拨打，无人接听")
    page.locator("#case-work").get_by_role("button", name="Log", exact=True).click()
    expect(page.locator("#case-work")).to_contain_text("第一次拨打，无人接听")
    detail = floor.manager.get(f"/collections/cases/{case['id']}").get_json()
    assert [(a["outcome"], a["note"]) for a in detail["actions"]] == [
        ("no_answer", "第一次拨打，无人接听")
    ]
