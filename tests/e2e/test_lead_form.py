# ruff: noqa: F811  (the firm fixture is imported from the customers tests and used by name)
"""The public lead form in the browser: a visitor from an agent's link is refused without the
consent (the message beside the checkbox, what they typed kept), sends it with the consent,
and the agent, signed in, finds the lead with the link's campaign."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.e2e.test_csp import _watch
from tests.plugins.channels.conftest import Channels, channels  # noqa: F401
from tests.plugins.customers.conftest import PASSWORD, firm  # noqa: F401

pytestmark = pytest.mark.slow


def test_a_visitor_sends_the_form_and_the_agent_finds_the_lead(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    page_allows,
    channels: Channels,
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page_allows(422, "/channels/apply")  # the form comes back with its messages
    violations = _watch(page)
    link = urlsplit(channels.links["agent1"])
    page.goto(f"{live_server}{link.path}?{link.query}&utm_campaign=winter")
    page.fill("input[name=name]", "冯八")
    page.fill("input[name=mobile]", "13911110010")
    page.fill("input[name=amount]", "30000")
    page.click("button[type=submit]")
    consent = page.locator(".form-field.has-error input[name=consent]")
    expect(consent).to_have_count(1)
    expect(page.locator("input[name=name]")).to_have_value("冯八")
    page.check("input[name=consent]")
    page.click("button[type=submit]")
    expect(page.locator("form input[name=name]")).to_have_count(0)
    assert violations == []

    agent, slug = channels.firm.staff["agent1"], channels.firm.tenant.slug
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.context.clear_cookies()
    page.goto(f"{live_server}/t/{slug}/login")  # the violations seen are still collected
    page.fill("input[name=email]", agent.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{slug}/$"))
    page.goto(f"{live_server}/t/{channels.firm.tenant.slug}/channels/leads")
    row = page.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").first).to_have_text("冯八")
    expect(page.locator("#agent-link")).to_contain_text("ref=")
    row.locator("a").click()
    expect(page.locator("dd", has_text=re.compile("^winter$"))).to_have_count(1)
    assert violations == [] and errors == []
