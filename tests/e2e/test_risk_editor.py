# ruff: noqa: F811  (fixtures imported from the customers and risk tests are used by name)
"""The risk editor in the browser: a risk manager adds a rule with htmx (nothing saved yet),
sees the problem under the expression, fixes it, saves and publishes; no CSP violation and
no page error on the way."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import settled, signed_in
from tests.plugins.customers.conftest import PASSWORD, Firm, firm  # noqa: F401
from tests.plugins.risk.conftest import risk  # noqa: F401

pytestmark = pytest.mark.slow


def test_a_risk_manager_writes_and_publishes_a_rule(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    page_allows,
    risk: Firm,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page_allows(422, "/risk/draft")  # the unknown field comes back next to the rule
    violations, errors = signed_in(
        page, live_server, risk.tenant.slug, risk.staff["risk"].email, PASSWORD
    )
    page.click("nav >> text=风控规则")
    page.goto(f"{live_server}/t/{risk.tenant.slug}/risk/draft")
    page.click("button[value=add_rule]")
    settled(page)
    expression = page.locator('input[name="rules.0.expression"]')
    expect(expression).to_be_visible()
    for field, value in {
        "key": "big",
        "name_zh": "大额",
        "name_en": "Big",
        "reason_code": "R001",
        "reason_zh": "申请金额超过可批额度",
        "reason_en": "The amount is above what we lend",
    }.items():
        page.fill(f'input[name="rules.0.{field}"]', value)
    page.select_option('select[name="rules.0.outcome"]', "reject")
    expression.fill("salary > 100000")
    page.click("button[value=save]")
    settled(page)
    problem = page.locator('[id="f-rules.0.expression-error"] .field-error')
    expect(problem).to_contain_text("salary")
    expect(page.locator('input[name="rules.0.reason_zh"]')).to_have_value("申请金额超过可批额度")
    page.screenshot(path=tmp_path / "risk-editor-error.png", full_page=True)

    page.fill('input[name="rules.0.expression"]', "amount > 100000")
    page.click("button[value=save]")
    settled(page)
    expect(page.locator(".field-error")).to_have_count(0)
    page.fill("input[name=note]", "第一版")
    page.click("form[action$='/risk/publish'] button[type=submit]")
    expect(page.locator("table")).to_contain_text("第一版")
    # (htmx no longer copies ``style`` attributes while settling: nothing is blocked)
    assert violations == [] and errors == []
    published = risk.staff["risk"].api.get("/risk/rule-sets/application/versions").get_json()
    assert [(v["number"], v["definition"]["rules"][0]["expression"]) for v in published] == [
        (1, "amount > 100000")
    ]
