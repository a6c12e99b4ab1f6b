# ruff: noqa: F811  (fixtures imported from the report tests are used by name)
"""The dashboard pages (看板): the list, a dashboard's grid whose tiles show the numbers of
hand-written SQL over the seeded applications for each viewer (an officer whose scope is
"own" their own), global filters in the query string narrowing them (a bad value shown
next to its field), auto-refresh and the wall display, the editor (tiles placed row by row
from their order) and who may use it, and each role's default dashboard with its link on
the home page."""

from __future__ import annotations

import re
import uuid
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from tests.helpers import ApiClient
from tests.platform.reports.conftest import SEED, Books, books  # noqa: F401
from tests.platform.reports.test_dashboards import report, tile
from tests.platform.reports.test_designer_web import Web, drill_counts, table_cells
from tests.platform.reports.test_query import money


@pytest.fixture
def web(app: Flask, books: Books) -> dict[str, Web]:
    return {name: Web(app, books, name) for name in ("officer1", "officer3", "risk", "finance")}


def board(api: ApiClient, *tiles: dict[str, Any], **values: Any) -> str:
    body = {
        "name": "经营总览",
        "tiles": list(tiles),
        "filters": ["date", "product", "org_unit"],
        "shared_with_roles": ["credit_officer", "finance"],
        **values,
    }
    response = api.post("/dashboards", json=body)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def by_status_report(api: ApiClient) -> str:
    return report(
        api,
        "按状态",
        spec={"dimensions": [{"key": "status"}], "measures": ["count", "amount_sum"]},
        chart_type="table",
    )


def tile_html(html: str) -> list[str]:
    """Each tile's markup, in order."""
    return html.split('<section class="card dashboard-tile ')[1:]


def expected(books: Books, first: str = "", last: str = "", owner: str | None = None) -> dict:
    """{status: [count, amount]} of the applications created on Beijing days first..last,
    by hand-written SQL."""
    local = (
        "to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"
        if books.dialect == "postgresql"
        else "strftime('%Y-%m-%d', datetime(created_at, '+8 hours'))"
    )
    where = "tenant_id = :tenant"
    if first:
        where += f" AND {local} >= :first"
    if last:
        where += f" AND {local} <= :last"
    rows = books.sql(
        f"SELECT status, owner_id, count(*), sum(amount) FROM intake_applications "
        f"WHERE {where} GROUP BY status, owner_id",
        first=first,
        last=last,
    )
    mine = owner and books.desk.firm.staff[owner].user_id.replace("-", "")
    found: dict[str, list[int]] = {}
    for status, owner_id, count, amount in rows:
        if mine is None or str(owner_id).replace("-", "") == mine:
            total = found.setdefault(status, [0, 0])
            total[0] += count
            total[1] += int(amount)
    return {s: [str(c), str(money(a))] for s, (c, a) in found.items()}  # amounts are in 分


def shown(books: Books, cells: list[list[str]]) -> dict:
    """A status table's rows keyed by status (its label turned back into the key)."""
    labels = {"已批准": "approved", "已拒绝": "rejected", "审批中": "submitted", "草稿": "draft"}
    labels |= {"已撤回": "withdrawn"}
    return {labels.get(row[0], row[0].lower()): row[1:] for row in cells}


def test_the_pages_render_and_the_nav_offers_dashboards(web: dict[str, Web]) -> None:
    listing = web["finance"].get("/dashboards")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert "No dashboards yet." in html or "还没有看板" in html
    assert re.search(r'class="nav-item[^"]*" href="/t/[^/]+/dashboards"', html)
    assert 'id="new-dashboard"' in html and 'id="role-defaults"' not in html
    page = web["finance"].get("/dashboards/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "js/dashboards.js" in html and "sortablejs/Sortable.min.js" in html
    assert 'name="filters" value="channel"' in html and "<script>" not in html
    assert 'id="role-defaults"' in web["risk"].get("/dashboards").get_data(as_text=True)


def test_the_grid_shows_the_numbers_of_hand_written_sql_and_filters_narrow_them(
    web: dict[str, Web], books: Books, staff: dict[str, ApiClient]
) -> None:
    statuses = by_status_report(staff["risk"])
    totals = report(staff["risk"], "申请汇总")
    dashboard = board(staff["risk"], tile(statuses, w=8, h=5), tile(totals, x=8, w=4, h=2))
    page = web["finance"].get(f"/dashboards/{dashboard}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "js/reports.js" in html and "js/dashboards.js" in html and "<script>" not in html
    first, second = tile_html(html)
    assert "dash-x-0 dash-w-8 dash-h-5" in first and 'data-y="0"' in first
    assert "dash-x-8 dash-w-4 dash-h-2" in second
    assert f"/reports/{statuses}" in first and "按状态" in first  # the title links the report
    assert shown(books, table_cells(first)) == expected(books)
    assert re.search(rf">\s*{len(SEED)}\s*<", second)  # the number card
    assert 'id="df-date_from"' in html and 'id="df-org_unit"' in html
    assert 'id="df-product"' in html and 'id="df-channel"' not in html  # only those offered

    march = web["finance"].get(
        f"/dashboards/{dashboard}?date_from=2026-03-01&date_to=2026-03-31",
        headers={"HX-Request": "true", "HX-Target": "dashboard-body"},
    )
    assert march.status_code == 200
    html = march.get_data(as_text=True)
    assert "<html" not in html and 'id="dashboard-body"' in html  # the body alone
    want = expected(books, "2026-03-01", "2026-03-31")
    assert shown(books, table_cells(tile_html(html)[0])) == want
    assert sum(int(c) for c, _ in want.values()) == 5 < len(SEED)
    assert 'value="2026-03-01"' in html  # the filters stay filled in
    # a drill-down from a tile shows the records the tile counts: the global filters too
    links = re.findall(r'<a class="report-drill" href="([^"]+)">(\d+)</a>', tile_html(html)[0])
    assert links and sum(int(count) for _, count in links) == 5
    for link, count in links:
        link = unescape(link)
        assert "created_at:ge:2026-03-01" in parse_qs(urlsplit(link).query)["filter"]
        assert drill_counts(web["finance"], link) == int(count)

    product = web["finance"].get(f"/dashboards/{dashboard}?product=consumer")
    note = re.search(r'class="dashboard-unfiltered[^"]*"[^>]*>(.*?)</p>', product.text)
    assert note and ("产品" in note.group(1) or "Product" in note.group(1))
    assert shown(books, table_cells(tile_html(product.text)[0])) == expected(books)


def test_a_bad_filter_value_is_shown_next_to_its_field(
    web: dict[str, Web], staff: dict[str, ApiClient]
) -> None:
    dashboard = board(staff["risk"], tile(report(staff["risk"], "申请汇总")))
    backwards = web["finance"].get(
        f"/dashboards/{dashboard}?date_from=2026-03-02&date_to=2026-03-01"
    )
    assert backwards.status_code == 422
    html = backwards.get_data(as_text=True)
    assert re.search(r'data-error-for="date_to">.*?field-error', html, re.S)
    assert "dashboard-tile " not in html  # nothing run
    assert 'data-error-for="date_from"' in web["finance"].get(
        f"/dashboards/{dashboard}?date_from=March"
    ).get_data(as_text=True)
    unit = web["finance"].get(f"/dashboards/{dashboard}?org_unit={uuid.uuid4()}")
    assert unit.status_code == 422 and 'data-error-for="org_unit"' in unit.text
    channel = web["finance"].get(f"/dashboards/{dashboard}?channel=online")
    assert channel.status_code == 422  # a filter the dashboard does not offer


def test_an_officer_whose_scope_is_own_sees_their_own_numbers(
    web: dict[str, Web], books: Books, staff: dict[str, ApiClient]
) -> None:
    dashboard = board(staff["risk"], tile(by_status_report(staff["risk"]), w=12))
    for name in ("officer1", "officer3"):
        html = web[name].get(f"/dashboards/{dashboard}").get_data(as_text=True)
        (only,) = tile_html(html)
        assert shown(books, table_cells(only)) == expected(books, owner=name)
    march = web["officer1"].get(f"/dashboards/{dashboard}?date_from=2026-02-01")
    assert shown(books, table_cells(tile_html(march.text)[0])) == expected(
        books, "2026-02-01", owner="officer1"
    )


def test_a_tile_fails_alone(web: dict[str, Web], staff: dict[str, ApiClient]) -> None:
    gone = report(staff["risk"], "将删除")
    kept = report(staff["risk"], "申请汇总")
    dashboard = board(staff["risk"], tile(gone), tile(kept, x=6))
    assert staff["risk"].delete(f"/reports/{gone}").status_code == 204
    html = web["finance"].get(f"/dashboards/{dashboard}").get_data(as_text=True)
    first, second = tile_html(html)
    assert "dashboard-tile-error" in first and "dashboard-tile-error" not in second
    assert "report-number-value" in second


def test_auto_refresh_and_the_wall_display_keep_the_filters(
    web: dict[str, Web], staff: dict[str, ApiClient]
) -> None:
    dashboard = board(staff["risk"], tile(report(staff["risk"], "申请汇总")), refresh_seconds=60)
    page = web["finance"].get(f"/dashboards/{dashboard}?date_from=2026-03-01")
    html = page.get_data(as_text=True)
    assert 'hx-trigger="every 60s"' in html and 'id="fullscreen"' in html
    polled = re.search(r'id="dashboard-grid"[^>]*hx-get="([^"]+)"', html)
    assert polled and parse_qs(urlsplit(polled.group(1).replace("&amp;", "&")).query) == {
        "date_from": ["2026-03-01"]
    }
    wall = web["finance"].get(f"/dashboards/{dashboard}?date_from=2026-03-01&wall=1")
    html = wall.get_data(as_text=True)
    assert wall.status_code == 200
    assert "app-sidebar" not in html and "nav-item" not in html  # no navigation
    assert 'class="dashboard-wall"' in html and 'hx-trigger="every 60s"' in html
    assert "date_from=2026-03-01" in html
    # what the grid polls: the body, from which htmx takes the grid
    polled_page = web["finance"].get(
        polled.group(1).replace("&amp;", "&").removeprefix(f"/t/{web['finance'].slug}"),
        headers={"HX-Request": "true", "HX-Target": "dashboard-grid"},
    )
    assert polled_page.status_code == 200 and "<html" not in polled_page.text
    assert 'id="dashboard-grid"' in polled_page.text
    assert 'hx-trigger="every' not in board_without_refresh(web, staff)


def board_without_refresh(web: dict[str, Web], staff: dict[str, ApiClient]) -> str:
    dashboard = board(staff["risk"], tile(report(staff["risk"], "静态")), name="静态看板")
    return str(web["finance"].get(f"/dashboards/{dashboard}").get_data(as_text=True))


def test_tiles_are_placed_row_by_row_from_their_order() -> None:
    from loandesk.web.dashboard_views.layout import place

    placed = place([("a", 6, 4), ("b", 6, 2), ("c", 4, 3), ("d", 12, 1), ("e", 8, 2), ("f", 4, 5)])
    assert [(t["report_id"], t["x"], t["y"]) for t in placed] == [
        ("a", 0, 0),
        ("b", 6, 0),
        ("c", 0, 4),  # under the tallest of the first row
        ("d", 0, 7),
        ("e", 0, 8),
        ("f", 8, 8),
    ]
    assert place([]) == []


def editor_form(reports: list[str], **changes: Any) -> MultiDict[str, str]:
    fields: list[tuple[str, str]] = [
        ("name", changes.pop("name", "晨会看板")),
        ("description", ""),
        ("refresh_seconds", changes.pop("refresh_seconds", "300")),
    ]
    for report_id in reports:
        fields += [("tile_report", report_id), ("tile_w", "6"), ("tile_h", "3")]
    fields += [("filters", f) for f in changes.pop("filters", ["date"])]
    fields += [("role", r) for r in changes.pop("roles", ["credit_officer"])]
    fields += list(changes.items())
    return MultiDict(fields)


def test_the_editor_builds_a_dashboard_and_guards_who_changes_it(
    web: dict[str, Web], books: Books, staff: dict[str, ApiClient], app: Flask
) -> None:
    officer = web["officer1"]
    first = report(staff["officer1"], "甲")
    second = report(staff["officer1"], "乙")
    third = report(staff["officer1"], "丙")
    # the add button answers with the editor and one more tile (nothing saved)
    added = officer.post(
        "/dashboards/new", editor_form([first], add_tile="1", new_report=second), htmx=False
    )
    assert added.status_code == 200
    assert added.text.count('name="tile_report"') == 2
    dropped = officer.post(
        "/dashboards/new", editor_form([first, second], drop_tile="0"), htmx=False
    )
    assert re.findall(r'name="tile_report" value="([^"]+)"', dropped.text) == [second]
    # problems next to their fields
    refused = officer.post(
        "/dashboards/new",
        editor_form([first, str(uuid.uuid4())], name=" ", roles=["x"]),
        htmx=False,
    )
    assert refused.status_code == 422
    for key in ("name", "tiles.1", "shared_with_roles"):
        assert f'data-error-for="{key}"' in refused.text, key
    # saved: placed row by row (6 + 6, then the third below)
    saved = officer.post("/dashboards/new", editor_form([first, second, third]), htmx=False)
    assert saved.status_code == 302, saved.text
    dashboard = saved.headers["Location"].rsplit("/", 1)[1]
    stored = staff["officer1"].get(f"/dashboards/{dashboard}").get_json()
    assert [(t["report_id"], t["x"], t["y"], t["w"], t["h"]) for t in stored["tiles"]] == [
        (first, 0, 0, 6, 3),
        (second, 6, 0, 6, 3),
        (third, 0, 3, 6, 3),
    ]
    assert (stored["refresh_seconds"], stored["filters"]) == (300, ["date"])
    # the same name again: next to the name
    taken = officer.post("/dashboards/new", editor_form([first]), htmx=False)
    assert taken.status_code == 422 and 'data-error-for="name"' in taken.text

    edit = officer.get(f"/dashboards/{dashboard}/edit")
    assert edit.status_code == 200
    assert re.findall(r'name="tile_report" value="([^"]+)"', edit.text) == [first, second, third]
    # another officer sees it (shared with credit_officer) but may not change or delete it
    other = web["officer3"]
    assert other.get(f"/dashboards/{dashboard}").status_code == 200
    assert other.get(f"/dashboards/{dashboard}/edit").status_code == 403
    assert (
        other.post(f"/dashboards/{dashboard}/edit", editor_form([first]), htmx=False).status_code
        == 403
    )
    assert other.post(f"/dashboards/{dashboard}/delete", {}, htmx=False).status_code == 403
    assert 'id="edit-dashboard"' not in other.get(f"/dashboards/{dashboard}").text
    # reordered (as a drag does) and saved by a manager of reports
    risk = web["risk"]
    moved = risk.post(
        f"/dashboards/{dashboard}/edit", editor_form([third, first], name="晨会"), htmx=False
    )
    assert moved.status_code == 302, moved.text
    stored = staff["risk"].get(f"/dashboards/{dashboard}").get_json()
    assert [(t["report_id"], t["x"]) for t in stored["tiles"]] == [(third, 0), (first, 6)]
    assert stored["name"] == "晨会"
    deleted = officer.post(f"/dashboards/{dashboard}/delete", {}, htmx=False)
    assert deleted.status_code == 302
    assert officer.get(f"/dashboards/{dashboard}").status_code == 404


def test_role_defaults_and_the_home_page_link(
    web: dict[str, Web], staff: dict[str, ApiClient]
) -> None:
    dashboard = board(staff["risk"], tile(report(staff["risk"], "申请汇总")), name="信审看板")
    assert web["officer1"].get("/dashboards/role-defaults").status_code == 403
    assert web["officer1"].post("/dashboards/role-defaults", {}, htmx=False).status_code == 403
    assert 'id="my-dashboard"' not in web["officer1"].get("/").text
    page = web["risk"].get("/dashboards/role-defaults")
    assert page.status_code == 200 and 'name="role-credit_officer"' in page.text
    bad = web["risk"].post(
        "/dashboards/role-defaults", {"role-credit_officer": str(uuid.uuid4())}, htmx=False
    )
    assert bad.status_code == 422 and 'data-error-for="credit_officer"' in bad.text
    saved = web["risk"].post(
        "/dashboards/role-defaults", {"role-credit_officer": dashboard}, htmx=False
    )
    assert saved.status_code == 302
    page = web["risk"].get("/dashboards/role-defaults")
    chosen = re.search(r'name="role-credit_officer">(.*?)</select>', page.text, re.S)
    assert chosen and f'<option value="{dashboard}" selected>' in chosen.group(1)
    home = web["officer1"].get("/").get_data(as_text=True)
    link = re.search(r'id="my-dashboard" href="([^"]+)"', home)
    assert link and link.group(1).endswith(f"/dashboards/{dashboard}")
    assert "信审看板" in home
    assert "dashboard-default-mark" in web["officer1"].get("/dashboards").text
    assert 'id="my-dashboard"' not in web["finance"].get("/").text  # not finance's default
    cleared = web["risk"].post("/dashboards/role-defaults", {"role-credit_officer": ""}, htmx=False)
    assert cleared.status_code == 302
    assert 'id="my-dashboard"' not in web["officer1"].get("/").text
