# ruff: noqa: F811  (the firm fixture is imported from the customers tests and used by name)
"""A customer's 360° page in the browser: a credit officer adds an emergency contact and a bank
card (a card in another name is refused next to the field), and sees the empty places of the
modules to come; the page breaks no content-security rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_customers import _sign_in
from tests.plugins.customers.conftest import Firm, firm, new_customer  # noqa: F401

pytestmark = pytest.mark.slow


def test_officer_adds_a_contact_and_a_card_on_the_customer_page(
    live_server: str,
    browser_page,
    page_allows,
    firm: Firm,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    customer = new_customer(firm.staff["officer1"].api)
    page = browser_page
    page_allows(422, "/cards")  # the wrong card number comes back with its message
    _sign_in(page, live_server, firm, "officer1")
    page.goto(f"{live_server}/t/{firm.tenant.slug}/customers/{customer['id']}")

    contacts = page.locator("#contacts")
    contacts.locator("input[name=name]").fill("张翠山")
    contacts.locator("select[name=relation]").select_option("parent")
    contacts.locator("input[name=mobile]").fill("13900139000")
    contacts.locator("button[type=submit]").last.click()
    expect(page.locator("#contacts tbody tr")).to_have_count(1)
    expect(page.locator("#contacts tbody")).to_contain_text("13900139000")

    cards = page.locator("#cards")
    cards.locator("input[name=bank_name]").fill("中国工商银行")
    cards.locator("input[name=card_number]").fill("6222020200112233446")
    cards.locator("input[name=holder_name]").fill("李四")
    cards.locator("select[name=purpose]").select_option("disbursement")
    cards.locator("button[type=submit]").last.click()
    expect(page.locator("#f-holder_name-error")).to_be_visible()
    page.locator("#cards input[name=holder_name]").fill("张三丰")
    page.locator("#cards button[type=submit]").last.click()
    expect(page.locator("#cards tbody")).to_contain_text("6222020200112233446")

    for key in ("applications", "loans", "payments", "collection"):
        expect(page.locator(f'[data-section="{key}"] .empty-state')).to_have_count(1)
    page.screenshot(path=tmp_path / "customer-360.png", full_page=True)
