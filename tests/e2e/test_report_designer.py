# ruff: noqa: F811  (fixtures imported from the report tests are used by name)
"""The report designer in a real browser: a report built by clicking (dataset, a measure, a
dimension, the chart), drawn by ECharts, saved, opened, and a bar clicked down to the
filtered applications list with as many records as the bar counts; all of it under the
Content-Security-Policy without a single violation."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import settled, signed_in
from tests.platform.flows.conftest import desk  # noqa: F401
from tests.platform.reports.conftest import SEED, Books, books  # noqa: F401
from tests.plugins.customers.conftest import PASSWORD, firm  # noqa: F401

pytestmark = pytest.mark.slow

# The pixel of a bar's middle, from the chart's own coordinate system (page coordinates).
BAR_AT = """
([label, seriesIndex]) => {
  const canvas = document.querySelector('[data-report-chart] .report-canvas');
  const chart = echarts.getInstanceByDom(canvas);
  const option = chart.getOption();
  const index = option.xAxis[0].data.indexOf(label);
  const value = option.series[seriesIndex].data[index].value;
  const [x, y] = chart.convertToPixel({seriesIndex}, [index, value / 2]);
  const box = canvas.getBoundingClientRect();
  return {x: box.left + x, y: box.top + y};
}
"""


def test_build_save_open_and_drill_down(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    books: Books,
) -> None:
    from playwright.sync_api import expect

    finance = books.desk.firm.staff["finance"]
    slug = books.desk.firm.tenant.slug
    page = browser_page
    violations, _errors = signed_in(page, live_server, slug, finance.email, PASSWORD)

    page.click("a.nav-item:has-text('报表')")
    page.wait_for_url(re.compile(rf"/t/{slug}/reports$"))
    page.click("#new-report")
    page.wait_for_url(re.compile(rf"/t/{slug}/reports/new$"))  # loaded: htmx listens
    page.select_option("#r-dataset", "intake.applications")
    expect(page.locator("#add-measure-approval_rate")).to_be_visible()  # applications'
    settled(page)
    page.click("#add-measure-count")
    expect(page.locator(".report-table")).to_be_visible()  # a table of one total
    expect(page.locator(".report-table tbody td.num")).to_have_text(str(len(SEED)))
    page.click("#add-dimension-status")
    expect(page.locator('ul[data-chosen="dimension"] input[value="status"]')).to_have_count(1)
    settled(page)
    page.select_option("#r-chart_type", "bar")

    chart = page.locator("[data-report-chart][data-chart-type=bar][data-drawn=true]")
    expect(chart.locator(".report-canvas canvas")).to_be_visible()
    approved = sum(1 for row in SEED if row[2] == "approved")
    bars = page.evaluate(
        "() => echarts.getInstanceByDom(document.querySelector('.report-canvas'))"
        ".getOption().series[0].data.map(d => d.value)"
    )
    assert sorted(bars) == sorted([sum(1 for r in SEED if r[2] == s) for s in {r[2] for r in SEED}])
    settled(page)

    # a measure dragged from the palette into the report is added too (and dragged out of
    # it again by its remove button)
    page.locator("#add-measure-amount_sum").hover()
    page.mouse.down()
    end = page.locator('ul[data-chosen="measure"]').bounding_box()
    assert end is not None
    page.mouse.move(end["x"] + end["width"] - 20, end["y"] + end["height"] / 2, steps=20)
    # hold over the list as a hand does: Sortable starts the drag on a later tick
    for nudge in (16, 12, 8):
        page.wait_for_timeout(50)
        page.mouse.move(end["x"] + end["width"] - nudge, end["y"] + end["height"] / 2, steps=2)
    page.mouse.up()
    dropped = page.locator('ul[data-chosen="measure"] input[name=measure][value=amount_sum]')
    expect(dropped).to_have_count(1)
    settled(page)
    expect(page.locator("[data-report-chart][data-drawn=true]")).to_have_count(1)
    page.click('button[name=drop_measure][value="1"]')
    expect(dropped).to_have_count(0)
    settled(page)

    page.fill("#r-name", "申请状态分布")
    settled(page)
    page.click("#save-report")
    page.wait_for_url(re.compile(rf"/t/{slug}/reports/[0-9a-f-]{{36}}$"))
    expect(page.locator("h1")).to_have_text("申请状态分布")
    expect(page.locator("[data-report-chart][data-drawn=true] canvas")).to_be_visible()

    at = page.evaluate(BAR_AT, ["已批准", 0])
    page.mouse.click(at["x"], at["y"])
    page.wait_for_url(re.compile(rf"/t/{slug}/applications/\?filter=status"))
    links = page.locator("a[href*='/applications/']").evaluate_all(
        "links => [...new Set(links.map(a => a.getAttribute('href'))"
        ".filter(h => /applications\\/[0-9a-f-]{36}$/.test(h)))].length"
    )
    assert links == approved
    assert violations == [], [v for v in violations if "Applying" not in v]


def test_every_drawn_chart_type_draws_without_errors(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    books: Books,
) -> None:
    from playwright.sync_api import expect

    finance = books.desk.firm.staff["finance"]
    slug = books.desk.firm.tenant.slug
    page = browser_page
    violations, errors = signed_in(page, live_server, slug, finance.email, PASSWORD)
    page.goto(f"{live_server}/t/{slug}/reports/new?dataset=intake.applications")
    page.click("#add-measure-count")
    expect(page.locator(".report-table")).to_be_visible()
    settled(page)
    page.click("#add-dimension-created_at")  # by month
    expect(page.locator("#r-bucket-0")).to_have_value("created_at:month")
    settled(page)
    page.click("#add-dimension-status")
    expect(page.locator('ul[data-chosen="dimension"] input[value="status"]')).to_have_count(1)
    settled(page)
    for chart_type in ("line", "bar", "stacked_bar", "pie", "funnel"):
        page.select_option("#r-chart_type", chart_type)
        drawn = page.locator(f"[data-chart-type={chart_type}][data-drawn=true] canvas")
        expect(drawn).to_be_visible()
        settled(page)
    series = page.evaluate(
        "() => echarts.getInstanceByDom(document.querySelector('.report-canvas'))"
        ".getOption().series[0].data.length"
    )
    rows = page.locator("[data-report-chart]").get_attribute("data-rows")
    assert rows is not None and series == int(rows) > 1  # a slice per row
    # a number card of a ratio is a gauge too
    page.click('button[name=drop_measure][value="0"]')
    expect(page.locator('ul[data-chosen="measure"] input')).to_have_count(0)
    settled(page)
    page.click('button[name=drop_dimension][value="1"]')
    settled(page)
    page.click('button[name=drop_dimension][value="0"]')
    expect(
        page.locator('ul[data-chosen="dimension"] input, ul[data-chosen="dimension"] select')
    ).to_have_count(0)
    settled(page)
    page.click("#add-measure-approval_rate")
    expect(page.locator('ul[data-chosen="measure"] input[value="approval_rate"]')).to_have_count(1)
    settled(page)
    page.select_option("#r-chart_type", "number")
    expect(page.locator("[data-chart-type=number][data-drawn=true] canvas")).to_be_visible()
    expect(page.locator(".report-number-value")).to_contain_text("%")
    assert errors == [] and violations == []


def test_a_map_by_province_draws_the_province_squares(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    books: Books,
    api_a,  # type: ignore[no-untyped-def]
) -> None:
    from playwright.sync_api import expect

    from tests.platform.reports.test_designer_web import _home_regions

    codes = ("440000", "310000", "110000")
    _home_regions(books, api_a, codes)
    finance = books.desk.firm.staff["finance"]
    slug = books.desk.firm.tenant.slug
    page = browser_page
    violations, errors = signed_in(page, live_server, slug, finance.email, PASSWORD)
    page.goto(f"{live_server}/t/{slug}/reports/new?dataset=intake.applications")
    page.click("#add-measure-count")
    expect(page.locator(".report-table")).to_be_visible()
    settled(page)
    page.click("#add-dimension-home_region")
    expect(page.locator('ul[data-chosen="dimension"] input[value="home_region"]')).to_have_count(1)
    settled(page)
    page.select_option("#r-chart_type", "map")
    expect(page.locator("[data-chart-type=map][data-drawn=true] canvas").first).to_be_visible()
    # grey squares for the provinces without applications, coloured ones for the others
    empty, filled_squares = page.evaluate(
        "() => echarts.getInstanceByDom(document.querySelector('.report-canvas'))"
        ".getOption().series.map(s => s.data.map(d => [d.name, d.value[2]]))"
    )
    assert len(empty) + len(filled_squares) == 34
    filled = dict(filled_squares)
    expected = {
        name: sum(1 for i in range(len(SEED)) if codes[i % 3] == code)
        for code, name in (("440000", "广东"), ("310000", "上海"), ("110000", "北京"))
    }
    assert filled == expected
    assert errors == [] and violations == []
