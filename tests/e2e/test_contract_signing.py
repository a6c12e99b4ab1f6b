# ruff: noqa: F811  (fixtures imported from the contracts tests are used by name)
"""The borrower signs their contract on a phone: opens the SMS link (no account), reads the
contract, ticks agreement, asks for the code, types it and signs; the page then says the
contract is signed, and nothing breaks the page's security policy."""

from __future__ import annotations

import pytest

from tests.e2e.test_csp import _watch
from tests.plugins.contracts.conftest import Office, office  # noqa: F401
from tests.plugins.customers.conftest import firm  # noqa: F401
from tests.plugins.repayment.conftest import desk  # noqa: F401

pytestmark = pytest.mark.slow


def test_the_borrower_signs_on_a_phone(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    office: Office,
) -> None:
    from playwright.sync_api import expect

    contract, link = office.sent_contract()
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 740})  # a phone held upright
    violations = _watch(page)
    page.goto(f"{live_server}{link}")
    # the borrower reads in English: the page's own switch keeps the choice for the visit
    page.get_by_role("button", name="English").click()
    expect(page.get_by_text(contract["number"]).first).to_be_visible()
    frame = page.frame_locator("iframe.contract-frame")
    expect(frame.get_by_text("借款合同").first).to_be_visible()
    # nothing wider than the phone: the page does not scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    page.check("input[name=agree]")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_text("The code was sent")).to_be_visible()
    expect(page.locator("input[name=agree]")).to_be_checked()
    page.fill("input[name=code]", office.code())
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_text("Thank you: the contract is signed.")).to_be_visible()
    expect(page.get_by_test_id("contract-status")).to_have_text("Signed")
    assert office.api.get(f"/contracts/{contract['id']}").get_json()["status"] == "signed"
    assert violations == []
