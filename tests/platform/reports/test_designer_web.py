# ruff: noqa: F811  (fixtures imported from the report tests are used by name)
"""The report designer's pages (报表设计器): the list, designing with a preview that runs the
report under the staff member's own access (an officer whose scope is "own" sees their own
numbers, a masked field's measure is not offered), saving and sharing, who may edit and
delete, a saved report's page, and drill-down links that filter the records list to exactly
the records a chart element counts."""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from tests.helpers import ApiClient, csrf_from
from tests.platform.reports.conftest import SEED, Books, books  # noqa: F401
from tests.plugins.customers.conftest import PASSWORD


class Web:
    """A browser-like client signed in as one staff member of tenant A."""

    def __init__(self, app: Flask, books: Books, name: str) -> None:
        self.client: FlaskClient = app.test_client()
        self.slug = books.desk.firm.tenant.slug
        login = f"/t/{self.slug}/login"
        token = csrf_from(self.client, login)
        signed = self.client.post(
            login,
            data={
                "email": books.desk.firm.staff[name].email,
                "password": PASSWORD,
                "csrf_token": token,
            },
        )
        assert signed.status_code == 302, signed.get_data(as_text=True)
        self.csrf = csrf_from(self.client, f"/t/{self.slug}/")

    def url(self, path: str) -> str:
        return f"/t/{self.slug}{path}"

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(self.url(path), **kw)

    def post(self, path: str, data: Any, htmx: bool = True) -> Any:
        headers = {"X-CSRFToken": self.csrf}
        if htmx:
            headers |= {"HX-Request": "true", "HX-Target": "report-designer"}
        form = MultiDict(data) if isinstance(data, list) else data
        return self.client.post(self.url(path), data=form, headers=headers)


def designer_form(**changes: Any) -> list[tuple[str, str]]:
    """The designer's form: applications by status, counted and summed."""
    fields: dict[str, Any] = {
        "dataset": "intake.applications",
        "previous_dataset": "intake.applications",
        "dimension": ["status"],
        "measure": ["count", "amount_sum"],
        "sort": "",
        "limit": "100",
        "chart_type": "bar",
        "name": "",
        "description": "",
        **changes,
    }
    found = []
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            found.append((key, item))
    return found


def chart_data(html: str) -> dict[str, Any]:
    """The JSON reports.js draws from (the first chart on the page)."""
    match = re.search(r'<script type="application/json" class="report-data">(.*?)</script>', html)
    assert match, html
    return dict(json.loads(match.group(1)))


def table_cells(html: str) -> list[list[str]]:
    """The text of each body row's cells of the first report table."""
    body = html[html.index("report-table") :].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def by_status(owner: str | None = None) -> dict[str, tuple[int, str]]:
    """Counts and sums per status, computed from the seed by hand."""
    found: dict[str, tuple[int, Decimal]] = {}
    for who, _unit, status, amount, _term, _created in SEED:
        if owner in (None, who):
            count, total = found.get(status, (0, Decimal(0)))
            found[status] = (count + 1, total + Decimal(amount))
    return {k: (c, str(t)) for k, (c, t) in found.items()}


@pytest.fixture
def web(app: Flask, books: Books) -> dict[str, Web]:
    return {name: Web(app, books, name) for name in ("officer1", "officer3", "risk", "finance")}


def test_the_pages_render_and_the_nav_offers_reports(web: dict[str, Web]) -> None:
    listing = web["finance"].get("/reports")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert "还没有报表。" in html and 'href="/t/' in html
    assert re.search(r'class="nav-item[^"]*" href="/t/[^/]+/reports"', html)
    page = web["finance"].get("/reports/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "vendor/echarts/echarts.min.js" in html and "js/reports.js" in html
    assert 'id="add-measure-count"' in html and 'id="add-dimension-status"' in html
    assert "<script>" not in html  # nothing inline: the CSP forbids it


def test_the_preview_returns_the_numbers(web: dict[str, Web]) -> None:
    answer = web["finance"].post("/reports/preview", designer_form())
    assert answer.status_code == 200, answer.get_data(as_text=True)
    data = chart_data(answer.get_data(as_text=True))
    assert data["chart_type"] == "bar"
    found = {r["status"]: (r["count"], r["amount_sum"]) for r in data["rows"]}
    assert found == by_status()
    assert data["labels"]["status"]["approved"] in ("已批准", "Approved")
    assert [c["key"] for c in data["columns"]] == ["status", "count", "amount_sum"]


def test_a_button_adds_a_dimension_and_a_table_shows_labels(web: dict[str, Web]) -> None:
    form = designer_form(dimension=[], chart_type="pivot", add_dimension="created_at")
    form += [("dimension", "status")]
    answer = web["finance"].post("/reports/preview", form)
    html = unescape(answer.get_data(as_text=True))
    assert answer.status_code == 200, html
    assert 'name="dimension" class="report-bucket"' in answer.get_data(as_text=True)
    assert "report-pivot" in html
    # status down, months across (Beijing time: 17:30 UTC on 31 January is February)
    assert "2026-02" in html and "2026-03" in html


def test_an_officer_whose_scope_is_own_sees_only_their_numbers(web: dict[str, Web]) -> None:
    for name in ("officer1", "officer3"):
        answer = web[name].post("/reports/preview", designer_form())
        data = chart_data(answer.get_data(as_text=True))
        found = {r["status"]: (r["count"], r["amount_sum"]) for r in data["rows"]}
        assert found == by_status(name)


def test_a_masked_fields_measure_is_not_offered(web: dict[str, Web], api_a: ApiClient) -> None:
    role = next(r for r in api_a.get("/roles").get_json() if r["key"] == "credit_officer")
    fields = dict.fromkeys(
        ("number", "customer_id", "term_months", "status", "owner_id", "org_unit_id"), "edit"
    )
    fields |= {"amount": "masked", "created_at": "view", "submitted_at": "view"}
    put = api_a.put(
        f"/roles/{role['id']}/record-access/application", json={"scope": "own", "fields": fields}
    )
    assert put.status_code == 200, put.get_json()
    html = web["officer1"].get("/reports/new?dataset=intake.applications").get_data(as_text=True)
    assert 'id="add-measure-count"' in html
    assert 'id="add-measure-amount_sum"' not in html
    assert 'id="add-measure-amount_avg"' not in html
    # and posted anyway, it is refused next to the measure, not run
    answer = web["officer1"].post("/reports/preview", designer_form())
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert 'data-error-for="measures.1"' in html
    assert "report-data" not in html
    assert 'id="add-measure-amount_sum"' in web["finance"].get(
        "/reports/new?dataset=intake.applications"
    ).get_data(as_text=True)


def save(who: Web, **changes: Any) -> str:
    answer = who.post("/reports/save", designer_form(name="按状态", **changes))
    assert answer.status_code == 204, answer.get_data(as_text=True)
    target = answer.headers["HX-Redirect"]
    return target.rsplit("/", 1)[1]


def test_save_share_view_edit_and_delete(web: dict[str, Web], books: Books) -> None:
    officer, other, risk = web["officer1"], web["officer3"], web["risk"]
    # problems show next to their fields
    refused = officer.post("/reports/save", designer_form(name=" ", role=["nobody"]))
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'data-error-for="name"' in html and 'data-error-for="shared_with_roles"' in html

    report_id = save(officer, role=["credit_officer"])
    page = officer.get(f"/reports/{report_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="edit-report"' in html and 'id="delete-report"' in html
    mine = {r["status"]: r["count"] for r in chart_data(html)["rows"]}
    assert mine == {k: c for k, (c, _) in by_status("officer1").items()}

    # shared with credit officers: officer3 sees it, with their own numbers, and cannot change
    html = other.get(f"/reports/{report_id}").get_data(as_text=True)
    theirs = {r["status"]: r["count"] for r in chart_data(html)["rows"]}
    assert theirs == {k: c for k, (c, _) in by_status("officer3").items()}
    assert 'id="edit-report"' not in html and 'id="delete-report"' not in html
    assert other.get(f"/reports/{report_id}/edit").status_code == 403
    assert other.post(f"/reports/{report_id}/delete", {}, htmx=False).status_code == 403
    assert "按状态" in other.get("/reports").get_data(as_text=True)
    # finance holds no credit_officer role: not there
    assert web["finance"].get(f"/reports/{report_id}").status_code == 404
    assert "按状态" not in web["finance"].get("/reports").get_data(as_text=True)

    # the owner edits it: the same name is kept, the chart changes
    edit = officer.get(f"/reports/{report_id}/edit")
    assert edit.status_code == 200 and 'value="按状态"' in edit.get_data(as_text=True)
    form = [*designer_form(name="按状态", chart_type="pie"), ("report_id", report_id)]
    answer = officer.post("/reports/save", form)
    assert answer.status_code == 204, answer.get_data(as_text=True)
    with books.desk.session() as session:
        from loandesk.reports.models import Report

        row = session.scalar(select(Report).where(Report.id == uuid.UUID(report_id)))
        assert row is not None and (row.chart_type, row.version) == ("pie", 2)

    # a manager of reports may change anyone's
    assert 'id="delete-report"' in risk.get(f"/reports/{report_id}").get_data(as_text=True)
    deleted = risk.post(f"/reports/{report_id}/delete", {}, htmx=False)
    assert deleted.status_code == 302
    assert officer.get(f"/reports/{report_id}").status_code == 404


def test_a_saved_report_a_viewer_may_not_use_shows_why(
    web: dict[str, Web], api_a: ApiClient
) -> None:
    report_id = save(web["risk"], role=["credit_officer"])
    role = next(r for r in api_a.get("/roles").get_json() if r["key"] == "credit_officer")
    fields = dict.fromkeys(("number", "customer_id", "term_months", "status"), "edit")
    put = api_a.put(
        f"/roles/{role['id']}/record-access/application", json={"scope": "own", "fields": fields}
    )
    assert put.status_code == 200, put.get_json()
    page = web["officer1"].get(f"/reports/{report_id}")
    assert page.status_code == 422
    assert 'id="report-problem"' in page.get_data(as_text=True)
    assert "按状态" in unescape(page.get_data(as_text=True))


def drill_counts(who: Web, url: str) -> int:
    """How many records the list behind a drill link shows (its total)."""
    assert url.startswith(f"/t/{who.slug}/applications/"), url
    answer = who.client.get(url)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    rows = re.findall(r'href="/t/[^/]+/applications/[0-9a-f-]{36}"', answer.get_data(as_text=True))
    return len(set(rows))


def test_drill_down_links_filter_the_list_to_the_counted_records(web: dict[str, Web]) -> None:
    finance = web["finance"]
    form = designer_form(
        dimension=["created_at:month"],
        measure=["count"],
        fk=["status"],
        fo=["eq"],
        fv=["approved"],
    )
    answer = finance.post("/reports/preview", form)
    data = chart_data(answer.get_data(as_text=True))
    assert data["drill"] is not None and len(data["drill"]) == len(data["rows"])
    for row, link in zip(data["rows"], data["drill"], strict=True):
        filters = parse_qs(urlsplit(link).query)["filter"]
        assert "status:eq:approved" in filters
        assert f"created_at:ge:{row['created_at']}" in filters
        assert drill_counts(finance, link) == row["count"]
    february = next(r for r in data["rows"] if r["created_at"] == "2026-02-01")
    link = data["drill"][data["rows"].index(february)]
    assert "created_at:lt:2026-03-01" in parse_qs(urlsplit(link).query)["filter"]

    # an officer's link shows their own records, as many as their row counts
    officer = web["officer1"]
    data = chart_data(officer.post("/reports/preview", designer_form()).get_data(as_text=True))
    for row, link in zip(data["rows"], data["drill"], strict=True):
        assert drill_counts(officer, link) == row["count"]

    # grouped by who, which the list cannot filter by: no links rather than wrong ones
    form = designer_form(dimension=["owner_id"], measure=["count"])
    data = chart_data(finance.post("/reports/preview", form).get_data(as_text=True))
    assert data["drill"] is None
    names = set(data["labels"]["owner_id"].values())
    assert names == {"officer1", "officer2", "officer3", "finance"}


def _home_regions(books: Books, api_a: ApiClient, codes: tuple[str, ...]) -> None:
    """A region field ``home_region`` on applications, the seed's rows taking ``codes`` in
    turn."""
    from loandesk_intake.models import Application

    created = api_a.post(
        "/record-types/application/fields",
        json={"key": "home_region", "kind": "region", "label_zh": "户籍地", "label_en": "Home"},
    )
    assert created.status_code == 201, created.get_json()
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    with books.desk.session() as session:
        rows = session.scalars(select(Application).order_by(Application.number))
        for index, row in enumerate(rows):
            row.custom = {"home_region": codes[index % len(codes)]}


def test_a_map_colours_the_province_tiles_by_the_first_measure(
    web: dict[str, Web], books: Books, api_a: ApiClient
) -> None:
    from loandesk.web.report_views.tiles import TILES

    codes = ("440000", "310000", "110000")
    _home_regions(books, api_a, codes)
    form = designer_form(dimension=["home_region"], measure=["count"], chart_type="map")
    answer = web["finance"].post("/reports/preview", form)
    html = unescape(answer.get_data(as_text=True))
    assert answer.status_code == 200, html
    assert 'class="report-note"' not in html
    data = chart_data(html)
    assert data["chart_type"] == "map" and data["map"]["key"] == "home_region"
    # every province-level region is a square, Taiwan, Hong Kong and Macao included, each at
    # its own place on the grid
    squares = {t["code"]: (t["x"], t["y"], t["name"]) for t in data["map"]["tiles"]}
    assert len(squares) == 34 and {"710000", "810000", "820000"} <= set(squares)
    assert len({(x, y) for x, y, _ in squares.values()}) == 34
    assert squares["440000"] == (*TILES["440000"][:2], "广东")
    counts = {row["home_region"]: row["count"] for row in data["rows"]}
    assert counts == {c: sum(1 for i in range(len(SEED)) if codes[i % 3] == c) for c in codes}
    assert data["labels"]["home_region"]["440000"] == "广东省"


def test_a_map_of_regions_below_a_province_says_to_group_by_province(
    web: dict[str, Web], books: Books, api_a: ApiClient
) -> None:
    _home_regions(books, api_a, ("440305", "310104", "110105"))
    form = designer_form(dimension=["home_region"], measure=["count"], chart_type="map")
    html = unescape(web["finance"].post("/reports/preview", form).get_data(as_text=True))
    assert "有 3 行是省以下的地区" in html, html
    assert 'class="report-note"' in html
    # the counts are not added up into provinces outside the query: the rows stay as they are
    assert sorted(r[0] for r in table_cells(html)) == [
        "上海市/市辖区/徐汇区",
        "北京市/市辖区/朝阳区",
        "广东省/深圳市/南山区",
    ]
    # two dimensions cannot be one map: a table, saying why, and nothing drawn
    form = designer_form(dimension=["home_region", "status"], measure=["count"], chart_type="map")
    html = unescape(web["finance"].post("/reports/preview", form).get_data(as_text=True))
    assert 'class="report-note"' in html and "report-data" not in html


def test_pivot_number_card_and_unit_names(web: dict[str, Web], books: Books) -> None:
    form = designer_form(dimension=["org_unit_id", "status"], measure=["count"], chart_type="pivot")
    html = unescape(web["finance"].post("/reports/preview", form).get_data(as_text=True))
    assert "report-pivot" in html and "report-data" not in html  # HTML only
    assert "一组" in html and "二组" in html  # units by name, not id
    head = re.search(r"<thead>(.*?)</thead>", html, re.S)
    assert head is not None
    across = [
        re.sub(r"<[^>]+>", "", h).strip()
        for h in re.findall(r"<th[^>]*>(.*?)</th>", head.group(1), re.S)
    ][1:]
    row = re.search(r"<th scope=\"row\">二组</th>(.*?)</tr>", html, re.S)
    assert row is not None
    cells = [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    ]
    label = {"rejected": "已拒绝", "approved": "已批准", "draft": "草稿"}
    for status in ("rejected", "approved", "draft"):
        count = sum(1 for r in SEED if r[1] == "team2" and r[2] == status)
        assert cells[across.index(label[status])] == (str(count) if count else "–")

    form = designer_form(dimension=[], measure=["approval_rate"], chart_type="number")
    html = unescape(web["finance"].post("/reports/preview", form).get_data(as_text=True))
    approved = sum(1 for r in SEED if r[2] == "approved")
    decided = sum(1 for r in SEED if r[2] in ("approved", "rejected"))
    percent = (Decimal(approved) / Decimal(decided) * 100).quantize(Decimal("0.01"))
    assert f"{percent}%" in html  # the card
    assert chart_data(html)["chart_type"] == "gauge"  # and a gauge of the ratio


def test_the_list_is_paginated(web: dict[str, Web], books: Books, app: Flask) -> None:
    from tests.platform.reports.conftest import reports_client

    firm = books.desk.firm
    writer = reports_client(
        app,
        app.test_client(),
        firm.tenant.slug,
        firm.tenant.id,
        firm.staff["finance"].user_id,
        scopes=("reports:read", "reports:write"),
    )
    for number in range(21):
        body = {
            "name": f"报表{number:02d}",
            "dataset": "intake.applications",
            "spec": {"measures": ["count"]},
        }
        assert writer.post("/reports", json=body).status_code == 201
    first = web["finance"].get("/reports").get_data(as_text=True)
    second = web["finance"].get("/reports?page=2").get_data(as_text=True)
    assert "报表00" in first and "报表19" in first and "报表20" not in first
    assert "报表20" in second and "报表00" not in second
    assert 'class="pagination"' in first
    assert "报表00" not in web["officer1"].get("/reports").get_data(as_text=True)  # not shared


def test_staff_who_read_no_dataset_have_no_reports(
    app: Flask, books: Books, api_a: ApiClient
) -> None:
    role = next(r for r in api_a.get("/roles").get_json() if r["key"] == "collector")
    put = api_a.put(f"/roles/{role['id']}/record-access/customer", json={"scope": None})
    assert put.status_code == 200, put.get_json()
    collector = Web(app, books, "collector")
    home = collector.get("/").get_data(as_text=True)
    assert not re.search(r'class="nav-item[^"]*" href="/t/[^/]+/reports"', home)
    assert collector.get("/reports").status_code == 403
    assert collector.get("/reports/new").status_code == 403
    others = Web(app, books, "finance").get("/").get_data(as_text=True)
    assert re.search(r'class="nav-item[^"]*" href="/t/[^/]+/reports"', others)
