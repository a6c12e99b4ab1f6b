# ruff: noqa: F811  (fixtures imported from the flow tests are used by name)
"""An application through approval in the browser: the credit officer fills in and submits
an application, the approver sees the to-do in the menu's badge, opens the approval and
approves it with a comment; the application then shows approved, with the approval's
timeline on its page."""

from __future__ import annotations

import re

import pytest

from tests.platform.flows.conftest import Desk, approver, desk  # noqa: F401
from tests.plugins.customers.conftest import PASSWORD, firm  # noqa: F401

pytestmark = pytest.mark.slow


def _sign_in(page, base: str, slug: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/t/{slug}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{slug}/$"))


def test_an_application_is_approved_from_the_inbox(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    desk: Desk,
) -> None:
    from playwright.sync_api import expect

    desk.publish([approver("credit_review", [desk.user("a")])])
    assert desk.customer  # officer1's customer, to apply for
    slug = desk.firm.tenant.slug
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())  # "Submit this application?"

    # the credit officer fills in the application and submits it
    _sign_in(page, live_server, slug, desk.firm.staff["officer1"].email)
    page.goto(f"{live_server}/t/{slug}/applications/new")
    page.select_option("#f-customer_id", index=1)
    page.fill("#f-amount", "30000.00")
    page.fill("#f-term_months", "12")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{slug}/applications/[0-9a-f-]+$"))
    application = page.url
    page.click("form[action$='/submit'] button")
    expect(page.locator("#record-approval")).to_have_attribute("data-state", "running")
    expect(page.locator("#record-approval [data-current-step]")).to_contain_text("credit_review")
    page.locator("form[action$='/logout'] button").first.click()

    # the approver sees one to-do beside Approvals in the menu
    _sign_in(page, live_server, slug, desk.firm.staff["a"].email)
    badge = page.locator("#nav-counts-tenant-approvals-inbox .nav-count")
    expect(badge).to_have_count(1)
    expect(badge.locator("[aria-hidden=true]")).to_have_text("1")
    page.locator("a.nav-item[href$='/approvals/']").click()
    page.wait_for_url(re.compile(rf"/t/{slug}/approvals/$"))
    rows = page.locator("tr[id^=approval-]")
    expect(rows).to_have_count(1)
    rows.first.locator("a").click()
    page.wait_for_url(re.compile(rf"/t/{slug}/approvals/[0-9a-f-]+$"))

    # approves with a comment; the page updates in place and the badge goes
    expect(page.locator('#approval-values .detail[data-field="amount"] dd')).to_have_text(
        "¥30,000.00"
    )
    page.fill("#f-decide-comment", "资料齐全，同意放款")
    page.click("button[name=op][value=approve]")
    expect(page.locator("#approval")).to_have_attribute("data-state", "approved")
    expect(page.locator(".flash-success")).to_have_count(1)
    expect(page.locator("#approval-timeline")).to_contain_text("资料齐全，同意放款")
    expect(badge).to_have_count(0)
    # the inbox's tabs load in place (htmx) and keep their URL
    page.locator("a.nav-item[href$='/approvals/']").click()
    expect(rows).to_have_count(0)
    page.locator(".tabs a[data-box=done]").click()
    page.wait_for_url(re.compile(r"box=done"))
    expect(rows).to_have_count(1)
    expect(page.locator(".tabs a[data-box=done]")).to_have_attribute("aria-current", "page")
    page.locator("form[action$='/logout'] button").first.click()

    # the officer's application is approved, with the approval's timeline on its page
    _sign_in(page, live_server, slug, desk.firm.staff["officer1"].email)
    page.goto(application)
    expect(page.locator("#record-approval")).to_have_attribute("data-state", "approved")
    expect(page.locator('#record-approval [data-action="approved"]')).to_contain_text(
        "资料齐全，同意放款"
    )
    expect(page.locator('.detail[data-field="status"] dd')).to_have_text("已批准")
