# ruff: noqa: F811  (fixtures imported from the report tests are used by name)
"""Dashboards in a real browser: two saved reports put on a dashboard in the editor (one
dragged before the other), the dashboard opened with its charts drawn by ECharts side by
side on the grid, the date filter narrowing the number card through htmx (the URL keeps
the filter), and the wall display without navigation; all of it under the
Content-Security-Policy without a single violation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.e2e.conftest import settled, signed_in
from tests.helpers import ApiClient
from tests.platform.flows.conftest import desk  # noqa: F401
from tests.platform.reports.conftest import (  # noqa: F401
    SEED,
    Books,
    books,
    staff,
)
from tests.platform.reports.test_dashboards import report
from tests.plugins.customers.conftest import PASSWORD, firm  # noqa: F401

pytestmark = pytest.mark.slow


def counted(month: int | None = None) -> int:
    """The seeded applications the risk manager (scope: their branch) counts, in Beijing
    month ``month`` of 2026 or all."""
    return sum(
        1
        for _owner, unit, _status, _amount, _term, created in SEED
        if unit != "company" and (month is None or (created + timedelta(hours=8)).month == month)
    )


def test_build_view_filter_and_wall_display(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    page_allows,
    books: Books,
    staff: dict[str, ApiClient],
) -> None:
    from playwright.sync_api import expect

    bars = report(
        staff["risk"],
        "申请状态",
        spec={"dimensions": [{"key": "status"}], "measures": ["count"]},
        chart_type="bar",
    )
    total = report(staff["risk"], "申请总数", spec={"measures": ["count"]})
    risk = books.desk.firm.staff["risk"]
    slug = books.desk.firm.tenant.slug
    page = browser_page
    page_allows(422, "date_from=2026-04-01")  # the range the wrong way round
    violations, errors = signed_in(page, live_server, slug, risk.email, PASSWORD)

    page.click("a.nav-item:has-text('看板')")
    page.wait_for_url(re.compile(rf"/t/{slug}/dashboards$"))
    page.click("#new-dashboard")
    page.wait_for_url(re.compile(rf"/t/{slug}/dashboards/new$"))
    page.fill("#d-name", "经营晨会")
    page.select_option("#d-new_report", total)
    page.click("#add-tile")
    expect(page.locator("input[name=tile_report]")).to_have_count(1)
    page.select_option("#d-new_report", bars)
    page.click("#add-tile")
    expect(page.locator("input[name=tile_report]")).to_have_count(2)

    # drag the bar chart before the number card by its handle
    handle = page.locator(".dashboard-tile-item .drag-handle").nth(1)
    target = page.locator(".dashboard-tile-item").nth(0).bounding_box()
    assert target is not None
    handle.hover()
    page.mouse.down()
    page.mouse.move(target["x"] + 20, target["y"] + 4, steps=20)
    for nudge in (3, 2, 1):
        page.wait_for_timeout(50)
        page.mouse.move(target["x"] + 20, target["y"] + nudge, steps=2)
    page.mouse.up()
    order = page.locator("input[name=tile_report]").evaluate_all("els => els.map(e => e.value)")
    assert order == [bars, total]
    assert page.locator("[data-drop-tile]").evaluate_all("els => els.map(e => e.value)") == [
        "0",
        "1",
    ]
    page.check("#d-filter-date")
    page.select_option("#d-refresh_seconds", "300")
    page.click("#save-dashboard")
    page.wait_for_url(re.compile(rf"/t/{slug}/dashboards/[0-9a-f-]{{36}}$"))
    expect(page.locator("h1")).to_have_text("经营晨会")

    # the bar chart is drawn, and the two tiles sit side by side (6 columns each)
    chart = page.locator(".dashboard-tile [data-report-chart][data-drawn=true] canvas")
    expect(chart).to_be_visible()
    number = page.locator(".dashboard-tile .report-number-value")
    expect(number).to_have_text(str(counted()))
    first, second = (page.locator(".dashboard-tile").nth(i).bounding_box() for i in (0, 1))
    assert first is not None and second is not None
    assert second["x"] > first["x"] + first["width"] / 2 and abs(second["y"] - first["y"]) < 2
    expect(page.locator("#dashboard-grid")).to_have_attribute("hx-trigger", "every 300s")

    # the date filter narrows the number (March in Beijing), through htmx
    march = str(counted(3))
    assert march != str(counted())
    settled(page)
    page.fill("#df-date_from", "2026-03-01")
    page.fill("#df-date_to", "2026-03-31")
    page.click("#apply-filters")
    expect(number).to_have_text(march)
    page.wait_for_url(re.compile(r"date_from=2026-03-01"))
    expect(chart).to_be_visible()  # redrawn after the swap
    settled(page)
    # a range the wrong way round: the message next to the field, no tiles
    page.fill("#df-date_from", "2026-04-01")
    page.click("#apply-filters")
    expect(page.locator('[data-error-for="date_to"]')).to_be_visible()
    expect(page.locator(".dashboard-tile")).to_have_count(0)
    settled(page)
    page.fill("#df-date_from", "2026-03-01")
    page.click("#apply-filters")
    expect(number).to_have_text(march)
    settled(page)

    # the wall display keeps the filter and has no navigation
    page.click("#wall-mode")
    page.wait_for_url(re.compile(r"wall=1"))
    expect(page.locator(".dashboard-wall")).to_be_visible()
    expect(page.locator(".app-sidebar, nav.nav")).to_have_count(0)
    expect(page.locator(".dashboard-tile .report-number-value")).to_have_text(march)
    expect(page.locator("[data-report-chart][data-drawn=true] canvas")).to_be_visible()
    expect(page.locator("#dashboard-grid")).to_have_attribute("hx-trigger", "every 300s")
    expect(page.locator("#fullscreen")).to_be_visible()  # the Fullscreen API is there
    assert errors == [] and violations == [], (errors, violations)
