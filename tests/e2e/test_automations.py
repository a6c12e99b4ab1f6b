# ruff: noqa: F811  (fixtures imported from the flow and automation tests are used by name)
"""Automation rules in a real browser (issue 7): an admin creates the rule "批准后提醒签约"
(when an application is approved, a to-do for its owner) through the form, the record type
and the action added by htmx; an application is approved; the jobs run; the rule's run log
shows the run. No Content-Security-Policy violation on the way."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_csp import _watch
from tests.platform.automations.conftest import deliver_and_run, shop  # noqa: F401
from tests.platform.flows.conftest import Desk, desk  # noqa: F401
from tests.plugins.customers.conftest import firm  # noqa: F401

pytestmark = pytest.mark.slow


def test_admin_creates_a_rule_and_sees_it_run(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    shop: Desk,
) -> None:
    from playwright.sync_api import expect

    tenant = shop.firm.tenant
    page = browser_page
    violations = _watch(page)
    page.goto(f"{live_server}/t/{tenant.slug}/login")
    page.fill("input[name=email]", tenant.admin_email)
    page.fill("input[name=password]", tenant.admin_password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{tenant.slug}/$"))

    page.click("nav >> text=自动化规则")
    page.click("#new-rule")
    page.wait_for_url(re.compile(r"/admin/automations/new$"))
    page.fill("#f-name", "批准后提醒签约")
    page.select_option("#f-record_type", "application")  # the form comes back for it (htmx)
    expect(page.locator('#f-event option[value="application.approved"]')).to_have_count(1)
    page.select_option("#f-event", "application.approved")
    page.click('button[name="add_action"][value="create_todo"]')
    title = page.locator('[name="actions.0.title"]')
    expect(title).to_be_visible()
    title.fill("请联系客户签约：{{ title }}")
    page.click("#save-rule")
    page.wait_for_url(re.compile(r"/admin/automations/[0-9a-f-]{36}$"))
    expect(page.locator("#dry-run")).to_be_visible()

    _application, instance = shop.submit("80000")
    shop.act("approve", "a", instance)
    deliver_and_run(shop)

    page.click("#run-log")
    expect(page.locator('[data-state="done"]')).to_have_count(1)
    assert violations == []
