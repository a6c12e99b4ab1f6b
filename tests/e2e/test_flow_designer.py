# ruff: noqa: F811  (fixtures imported from the flow tests are used by name)
"""The approval flow designer in a real browser (issue 6): an admin builds the policy "amount
< 50,000: officers A and B or-sign; otherwise A and B countersign, then the risk manager" with
the "+" menus, the side panel and the condition builder; test-runs 49,999.99 and 80,000 and
sees the two paths lit up; publishes; and applications then go the way the designer said.
No Content-Security-Policy violation on the way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.conftest import settled
from tests.e2e.test_csp import _watch
from tests.platform.flows.conftest import Desk, desk  # noqa: F401
from tests.plugins.customers.conftest import firm  # noqa: F401

pytestmark = pytest.mark.slow


def _selected(page) -> str:  # type: ignore[no-untyped-def]
    """The id of the card the side panel edits."""
    from playwright.sync_api import expect

    card = page.locator(".fd-card.is-selected")
    expect(card).to_have_count(1)
    return str(card.get_attribute("data-node-id"))


def _add(page, plus, kind: str) -> str:  # type: ignore[no-untyped-def]
    """Open the "+" menu ``plus`` and pick ``kind``; the new node's id (its panel opens)."""
    from playwright.sync_api import expect

    drawn = page.locator(".fd-tree [data-node-id]")
    settled(page)  # the tree the last change swapped in is live
    before = drawn.count()
    plus.locator("summary").click()
    plus.locator(f'button[value="{kind}"]').click()
    expect(drawn).to_have_count(before + (3 if kind == "branch" else 1))
    return _selected(page)


def _save(page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    settled(page)
    page.click("#panel-save")
    expect(page.locator("#designer-message")).to_be_visible()


def test_admin_designs_test_runs_and_publishes_the_amount_policy(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    desk: Desk,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    tenant = desk.firm.tenant
    a, b = str(desk.user("a")), str(desk.user("b"))
    page = browser_page
    violations = _watch(page)
    page.goto(f"{live_server}/t/{tenant.slug}/login")
    page.fill("input[name=email]", tenant.admin_email)
    page.fill("input[name=password]", tenant.admin_password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{tenant.slug}/$"))

    page.click("nav >> text=审批流程")
    page.click('tr[data-record-type="application"] a.btn')
    page.wait_for_url(re.compile(r"/admin/flows/application$"))

    # a condition branch at the top: it comes with its first branch selected, and the default
    small = _add(page, page.locator(".fd-tree > .fd-add").first, "branch")
    columns = page.locator(".fd-col")
    expect(columns).to_have_count(2)
    large = str(columns.nth(1).get_attribute("data-branch-id"))
    expect(page.locator(f"#node-{small}")).to_have_class(re.compile("has-problem"))

    # its condition, with the builder: 申请金额 < 50000
    page.fill("#f-name", "5 万以下")
    page.select_option("#f-b_field", "amount")
    page.select_option("#f-b_op", "<")
    page.fill("#f-b_value", "50000")
    page.click("#builder-add")
    expect(page.locator("#f-condition")).to_have_value("amount < 50000")
    expect(page.locator(f"#node-{small} .fd-card-body")).to_contain_text("申请金额 < 50000")
    expect(page.locator(f"#node-{small}")).not_to_have_class(re.compile("has-problem"))

    # below 50,000: A and B, either decides (或签, the default mode)
    either = _add(
        page, page.locator(f'.fd-col[data-branch-id="{small}"] > .fd-add').first, "approver"
    )
    expect(page.locator(f"#node-{either}")).to_have_class(re.compile("has-problem"))
    page.fill("#f-name", "信审或签")
    page.check(f'#pick-user input[value="{a}"]')
    page.check(f'#pick-user input[value="{b}"]')
    _save(page)
    expect(page.locator(f"#node-{either} .fd-card-body")).to_contain_text("a")
    expect(page.locator(f"#node-{either}")).not_to_have_class(re.compile("has-problem"))

    # otherwise: A and B countersign (会签), then the risk manager
    both = _add(
        page, page.locator(f'.fd-col[data-branch-id="{large}"] > .fd-add').first, "approver"
    )
    page.fill("#f-name", "信审会签")
    page.check(f'#pick-user input[value="{a}"]')
    page.check(f'#pick-user input[value="{b}"]')
    page.check("#f-mode-all")
    _save(page)
    risk = _add(page, page.locator(f'.fd-col[data-branch-id="{large}"] > .fd-add').last, "approver")
    page.fill("#f-name", "风控主管")
    page.check('#pick-role input[value="risk_manager"]')
    page.select_option("#f-deadline_kind", "working_hours")
    page.fill("#f-deadline_amount", "24")
    _save(page)
    expect(page.locator(f"#node-{risk} .fd-card-body")).to_contain_text("24")
    expect(page.locator("#problem-summary")).to_have_count(0)
    page.locator("#designer").screenshot(path=tmp_path / "flow-designer.png", caret="initial")

    # test runs: 49,999.99 goes to either officer; 80,000 to both, then the risk manager
    page.fill("#f-v_amount", "49999.99")
    page.click("#test-run-button")
    result = page.locator("#test-result")
    expect(result).to_be_visible()
    expect(result.locator("li[data-node-id]")).to_have_count(2)
    expect(result.locator(f'li[data-node-id="{either}"] .fd-who')).to_contain_text("a")
    expect(page.locator(f"#node-{either}")).to_have_class(re.compile("on-path"))
    expect(page.locator(f'.fd-col[data-branch-id="{large}"]')).to_have_class(
        re.compile("not-taken")
    )
    page.locator("#designer").screenshot(path=tmp_path / "flow-designer-small.png", caret="initial")

    page.fill("#f-v_amount", "80000")
    page.click("#test-run-button")
    expect(result.locator("li[data-node-id]")).to_have_count(3)
    expect(result.locator(f'li[data-node-id="{risk}"] .fd-who')).to_contain_text("risk")
    expect(page.locator(f"#node-{both}")).to_have_class(re.compile("on-path"))
    expect(page.locator(f"#node-{risk}")).to_have_class(re.compile("on-path"))
    expect(page.locator(f"#node-{either}")).not_to_have_class(re.compile("on-path"))
    expect(page.locator(f'.fd-col[data-branch-id="{small}"]')).to_have_class(
        re.compile("not-taken")
    )
    page.locator("#designer").screenshot(path=tmp_path / "flow-designer-large.png", caret="initial")

    page.fill("#f-publish-note", "首版")
    page.click("#publish-button")
    expect(page.locator(".flash-success")).to_contain_text("1")
    expect(page.locator("#in-force")).to_contain_text("1")

    # what was published runs: the engine sends each amount the way the test run showed
    _application, small_instance = desk.submit("49999.99")
    assert desk.pending(small_instance) == (either, {"a", "b"})
    _application, large_instance = desk.submit("80000")
    assert desk.pending(large_instance) == (both, {"a", "b"})

    page.click('.page-header a[href$="/versions"]')
    expect(page.locator('tr[data-version="1"]')).to_contain_text("首版")
    page.click('tr[data-version="1"] a')
    expect(page.locator(f"#node-{risk}")).to_be_visible()
    expect(page.locator(".fd-add-menu")).to_have_count(0)  # read only
    assert violations == [], "\n".join(violations)
