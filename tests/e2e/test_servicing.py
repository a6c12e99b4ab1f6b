# ruff: noqa: F811  (fixtures imported from the disbursement tests are used by name)
"""Servicing in a real browser, each step by the person whose job it is, through the pages.

Disbursement: the credit officer asks for the payout from the loan's page, a finance clerk
approves it from the approval queue (never their own order) and pays it by hand with the
bank's reference; the loan is then active with its schedule. Repayment: a finance clerk
posts a payment on an active loan, is told next to the field when the amount is wrong, and
sees the payment on the loan's page."""

from __future__ import annotations

import re

import pytest

from tests.plugins.customers.conftest import PASSWORD, firm  # noqa: F401
from tests.plugins.disbursement.conftest import (  # noqa: F401
    CARD,
    PAID_ON,
    Desk,
    desk,
    provider,
)

pytestmark = pytest.mark.slow


def sign_in(page, base: str, desk: Desk, who: str) -> None:  # type: ignore[no-untyped-def]
    """Sign ``who`` in and switch the pages to English."""
    from playwright.sync_api import expect

    slug = desk.firm.tenant.slug
    page.goto(f"{base}/t/{slug}/login")
    page.fill("input[name=email]", desk.firm.staff[who].email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{slug}/$"))
    page.locator(".lang-switch button", has_text="English").first.click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def sign_out(page) -> None:  # type: ignore[no-untyped-def]
    page.locator("form[action$='/logout'] button").first.click()
    page.wait_for_url(re.compile(r"/login"))


def test_a_loan_is_requested_approved_and_paid_out(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    desk: Desk,
) -> None:
    from playwright.sync_api import expect

    loan_id = desk.book("12000.00")
    slug = desk.firm.tenant.slug
    page = browser_page

    # the credit officer asks for the payout from the pending loan's page
    sign_in(page, live_server, desk, "officer1")
    page.goto(f"{live_server}/t/{slug}/loans/{loan_id}")
    page.get_by_role("link", name="Request payout →").click()
    page.wait_for_url(re.compile(r"/disbursements/new\?loan_id="))
    expect(page.locator("#f-amount")).to_have_value("12000.00")
    page.fill("#f-account_name", "张三丰")
    page.fill("#f-account_number", CARD)
    page.fill("#f-bank_name", "中国工商银行")
    page.get_by_role("button", name="Request payout").click()
    page.wait_for_url(re.compile(rf"/t/{slug}/disbursements/[0-9a-f-]{{36}}$"))
    order_url = page.url
    expect(page.locator(".flash-success")).to_contain_text("another person must approve it")
    number = page.locator("dt:text-is('Loan number') + dd").inner_text()
    sign_out(page)

    # a finance clerk finds it in the approval queue and approves it
    sign_in(page, live_server, desk, "finance")
    page.goto(f"{live_server}/t/{slug}/disbursements/queue")
    row = page.locator("tr", has_text=number)
    expect(row).to_have_count(1)
    row.locator("a").first.click()
    page.wait_for_url(order_url)
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("dt:text-is('Status') + dd")).to_have_text("Approved")

    # and pays it by hand: the bank's reference, the day the money left
    page.fill("#f-bank_reference", "ICBC20250303001")
    page.fill("#f-paid_on", PAID_ON.isoformat())
    page.get_by_role("button", name="Mark paid").click()
    expect(page.locator("dt:text-is('Status') + dd")).to_have_text("Paid")
    expect(page.locator("dt:text-is('Bank reference') + dd")).to_have_text("ICBC20250303001")

    # the loan is active, its schedule starting on the day paid
    page.goto(f"{live_server}/t/{slug}/loans/{loan_id}")
    expect(page.locator("dt:text-is('Status') + dd")).to_have_text("Active")
    expect(page.locator("dt:text-is('Disbursed on') + dd")).to_have_text(PAID_ON.isoformat())
    expect(page.locator("table[aria-label='Repayment schedule'] tbody tr")).to_have_count(12)
    loan = desk.loan(loan_id)
    assert loan.status == "active" and loan.disbursed_on == PAID_ON


def test_finance_posts_a_payment_on_a_loan(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    page_allows,  # type: ignore[no-untyped-def]
    desk: Desk,
) -> None:
    from playwright.sync_api import expect

    # setup through the API: a loan paid out on PAID_ON
    loan_id = desk.book("12000.00")
    order_id = desk.approved(loan_id)
    paid = desk.api("finance").post(
        f"/disbursements/{order_id}/mark-paid",
        json={"bank_reference": "ICBC001", "paid_on": PAID_ON.isoformat()},
    )
    assert paid.status_code == 200, paid.get_json()
    number = desk.loan(loan_id).number
    slug = desk.firm.tenant.slug
    page = browser_page
    # the wrong amount comes back with its message next to the field: 422 by design
    page_allows(422, f"/loans/{loan_id}/payments/new")

    sign_in(page, live_server, desk, "finance")
    page.goto(f"{live_server}/t/{slug}/loans/")
    page.locator("tr", has_text=number).locator("a").first.click()
    page.wait_for_url(re.compile(rf"/t/{slug}/loans/{loan_id}$"))
    page.get_by_role("link", name="Post a payment").click()
    page.wait_for_url(re.compile(r"/payments/new$"))

    page.fill("#f-amount", "12.345")
    page.fill("#f-received_on", "2025-04-03")
    page.fill("#f-reference", "ICBC-HK-0403")
    page.get_by_role("button", name="Post").click()
    field = page.locator(".form-field.has-error", has=page.locator("#f-amount"))
    expect(field).to_be_visible()
    expect(page.locator("#f-reference")).to_have_value("ICBC-HK-0403")  # what was typed stays

    page.fill("#f-amount", "1100.00")
    page.get_by_role("button", name="Post").click()
    page.wait_for_url(re.compile(rf"/t/{slug}/loans/{loan_id}$"))
    row = page.locator("table[aria-label='Payments'] tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("1,100.00")
    expect(row).to_contain_text("ICBC-HK-0403")
    # the first installment (due 2025-04-03: 1,066.19) is paid; the rest is kept as credit
    schedule = page.locator("table[aria-label='Repayment schedule'] tbody tr")
    expect(schedule.first.locator("td").last).to_have_text("Paid")
    expect(schedule.nth(1).locator("td").last).to_have_text("Pending")
    expect(page.locator("dt:text-is('Credit balance') + dd")).to_have_text("33.81")
    posted = desk.api("finance").get(f"/loans/{loan_id}/payments").get_json()
    assert [(p["amount"], p["reference"]) for p in posted] == [("1100.00", "ICBC-HK-0403")]
