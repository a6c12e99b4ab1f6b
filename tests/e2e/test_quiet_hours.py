# ruff: noqa: F811  (the fixture imported from admin_fixtures is used by name)
"""Quiet hours in the browser: an admin sets quiet hours that hold right now, a message to a
borrower is written, and the log of messages to borrowers shows it held until they end, also
when filtered to held messages (htmx)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.platform.notifications.admin_fixtures import Outbox, outbox  # noqa: F401

pytestmark = pytest.mark.slow


def _hold_a_message(outbox: Outbox) -> None:
    from loandesk import pii
    from loandesk.notifications import service
    from loandesk.plugins import runtime

    with outbox.session(outbox.a) as session:
        service.notify(
            session,
            "sms",
            service.Recipient.borrower("13800138000"),
            "您本期应还 1,234.56 元，请按时还款。",
            key="reminder",
            channels=runtime.notification_channels(),
            keys=pii.for_current_tenant(),
        )


def test_quiet_hours_hold_a_message_and_the_log_shows_it(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    outbox: Outbox,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    from tests.e2e.conftest import settled

    slug, page = outbox.a.slug, browser_page
    page.goto(f"{live_server}/t/{slug}/login")
    page.fill("input[name=email]", outbox.a.admin_email)
    page.fill("input[name=password]", outbox.a.admin_password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{slug}/$"))

    # quiet from an hour ago until two hours from now, the firm's time: they hold now
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    start, end = (f"{local + timedelta(hours=h):%H:%M}" for h in (-1, 2))
    page.locator("a.nav-item[href$='/admin/notifications/quiet-hours']").click()
    page.fill("#f-start", start)
    page.fill("#f-end", end)
    page.locator("form button[type=submit].btn-primary").click()
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("#quiet-hours-now")).to_contain_text(start)
    expect(page.locator("#quiet-hours-now")).to_contain_text(end)
    page.screenshot(path=str(tmp_path / "quiet-hours.png"), full_page=True)

    _hold_a_message(outbox)
    page.locator("a.nav-item[href$='/admin/notifications/messages']").click()
    row = page.locator("tr.message-row", has_text="您本期应还")
    expect(row).to_have_attribute("data-held", "true")
    expect(row).to_contain_text("138****8000")
    expect(row).to_contain_text(end)
    expect(row).not_to_contain_text("13800138000")

    page.select_option("#f-state", "sent")
    page.locator("#message-log form button[type=submit]").click()
    expect(page.locator("#message-log .empty-state[data-empty=filtered]")).to_be_visible()
    settled(page)
    page.select_option("#f-state", "held")
    page.locator("#message-log form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"state=held"))
    expect(page.locator("tr.message-row")).to_have_count(1)
    expect(row).to_have_attribute("data-held", "true")
    page.screenshot(path=str(tmp_path / "message-log.png"), full_page=True)
