# ruff: noqa: F811  (fixtures imported from the plugin tests are used by name)
"""The application form in the browser: the tenant's conditional field appears when the
select it depends on is set to the value its condition names, and goes when it changes."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import settled
from tests.plugins.customers.conftest import PASSWORD, Firm, firm, new_customer  # noqa: F401
from tests.plugins.intake.conftest import intake, purpose_form  # noqa: F401

pytestmark = pytest.mark.slow


def test_the_conditional_field_follows_its_condition(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    purpose_form: Firm,
) -> None:
    from playwright.sync_api import expect

    officer = purpose_form.staff["officer1"]
    new_customer(officer.api)
    page = browser_page
    slug = purpose_form.tenant.slug
    page.goto(f"{live_server}/t/{slug}/login")
    page.fill("input[name=email]", officer.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{slug}/$"))

    page.goto(f"{live_server}/t/{slug}/applications/new")
    car_model = page.locator("#f-car_model")
    expect(page.locator("#f-loan_purpose")).to_be_visible()
    expect(car_model).to_have_count(0)

    page.select_option("#f-customer_id", index=1)
    page.fill("#f-amount", "80000.00")
    page.fill("#f-term_months", "24")
    page.select_option("#f-loan_purpose", "car")
    expect(car_model).to_be_visible()
    # what was typed before the fields re-rendered is still there
    expect(page.locator("#f-amount")).to_have_value("80000.00")
    settled(page)
    page.select_option("#f-loan_purpose", "house")
    expect(car_model).to_have_count(0)
    settled(page)
    page.select_option("#f-loan_purpose", "car")
    page.fill("#f-car_model", "比亚迪 汉")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{slug}/applications/[0-9a-f-]+$"))
    expect(page.locator('.detail[data-field="car_model"] dd')).to_have_text("比亚迪 汉")
    expect(page.locator('.detail[data-field="amount"] dd')).to_have_text("¥80,000.00")
