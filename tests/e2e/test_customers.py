# ruff: noqa: F811  (the firm fixture is imported from the customers tests and used by name)
"""Customers in the browser: a collector sees mobiles masked and cannot edit the income; a
credit officer creates a customer through the form, with errors next to the fields."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.plugins.customers.conftest import PASSWORD, Firm, firm, new_customer  # noqa: F401

pytestmark = pytest.mark.slow


def _sign_in(page, live_server: str, firm: Firm, who: str) -> None:  # type: ignore[no-untyped-def]
    slug = firm.tenant.slug
    page.goto(f"{live_server}/t/{slug}/login")
    page.fill("input[name=email]", firm.staff[who].email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{slug}/$"))


def test_collector_sees_masked_mobile_and_no_income_input(
    live_server: str,
    browser_page,
    firm: Firm,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    customer = new_customer(firm.staff["officer1"].api)
    firm.staff["risk"].api.post(
        f"/customers/{customer['id']}/assign", json={"owner_id": firm.staff["collector"].user_id}
    )
    page = browser_page
    _sign_in(page, live_server, firm, "collector")
    page.click("nav >> text=客户")
    cell = page.locator('td[data-field="mobile"]')
    expect(cell).to_have_text("138****8000")
    expect(page.locator("text=导出")).to_have_count(0)
    page.click('td[data-field="name"] a')
    expect(page.locator('[data-field="monthly_income"] dd')).to_have_text("¥8,500.00")
    page.click("text=编辑")
    expect(page.locator("input[name=monthly_income]")).to_have_count(0)
    page.screenshot(path=tmp_path / "customer-edit.png", full_page=True)
    page.fill("textarea[name=notes]", "已电话联系")
    page.click("button:has-text('保存')")
    expect(page.locator('[data-field="notes"] dd')).to_have_text("已电话联系")


def test_credit_officer_creates_a_customer_and_sees_errors_next_to_fields(
    live_server: str,
    browser_page,
    page_allows,
    firm: Firm,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page_allows(422, "/customers/new")  # the form comes back with its messages
    _sign_in(page, live_server, firm, "officer1")
    page.goto(f"{live_server}/t/{firm.tenant.slug}/customers/new")
    page.fill("input[name=name]", "李四")
    page.fill("input[name=mobile]", "13800138000")
    page.fill("input[name=id_number]", "110105194912310021")  # wrong check digit
    page.fill("input[name=monthly_income]", "8500.555")
    page.click("button:has-text('保存')")
    expect(page.locator("#f-id_number-error")).to_contain_text("校验位")
    expect(page.locator("#f-monthly_income-error")).to_contain_text("2 位小数")
    expect(page.locator("input[name=name]")).to_have_value("李四")  # nothing typed is lost
    page.screenshot(path=tmp_path / "customer-new.png", full_page=True)
    page.fill("input[name=id_number]", "11010519491231002X")
    page.fill("input[name=monthly_income]", "8500.50")
    page.click("button:has-text('保存')")
    expect(page.locator('[data-field="mobile"] dd')).to_have_text("13800138000")
    expect(page.locator('[data-field="monthly_income"] dd')).to_have_text("¥8,500.50")
