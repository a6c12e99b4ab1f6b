"""Issue 8's second acceptance point in one place: a collector whose data scope is "own team"
sees only their team's numbers in every report — the ad-hoc query, a saved report shared with
them, the built-in reports over applications, a dashboard, and the CSV and Excel exports —
each equal to a hand-written SQL query over their team's applications; and a measure over a
field hidden from them is neither offered nor accepted, however it is asked for."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from tests.helpers import ApiClient
from tests.platform.reports.conftest import WRITE_SCOPES, Books, reports_client
from tests.platform.reports.test_catalog import APPLICATION_FIELDS
from tests.platform.reports.test_export import _grant, _permit, csv_rows
from tests.platform.reports.test_query import money

BY_STATUS = {"dimensions": [{"key": "status"}], "measures": ["count", "amount_sum"]}
HAND_WRITTEN = (
    "SELECT status, count(*), sum(amount) FROM intake_applications "
    "WHERE tenant_id = :tenant {team} GROUP BY status"
)


@pytest.fixture
def collector(books: Books, app: Flask, client: FlaskClient, api_a: ApiClient) -> ApiClient:
    """The collector (in 一组) with the "team" scope over applications, every field in view
    and exportable, and ``reports.export``."""
    fields = dict.fromkeys(APPLICATION_FIELDS, "view")
    _grant(api_a, "collector", scope="team", fields=fields, export=list(APPLICATION_FIELDS))
    _permit(api_a, "collector", "reports.export")
    firm = books.desk.firm
    return reports_client(
        app, client, firm.tenant.slug, firm.tenant.id, firm.staff["collector"].user_id, WRITE_SCOPES
    )


def by_hand(books: Books, team: bool = True) -> dict[str, tuple[int, str | None]]:
    """(count, amount in yuan) per status over the team's applications (or all), by hand."""
    unit = uuid.UUID(books.desk.firm.units["team1"])
    where = "AND org_unit_id = :unit" if team else ""
    params = {"unit": unit.hex if books.dialect == "sqlite" else unit} if team else {}
    rows = books.sql(HAND_WRITTEN.format(team=where), **params)
    return {status: (count, money(total)) for status, count, total in rows}


def rows_of(answer: Any) -> dict[str, tuple[int, str | None]]:
    assert answer.status_code == 200, answer.get_json()
    return {r["status"]: (r["count"], r["amount_sum"]) for r in answer.get_json()["rows"]}


def test_every_report_and_export_holds_only_the_teams_numbers(
    books: Books, collector: ApiClient, staff: dict[str, ApiClient]
) -> None:
    team, everyone = by_hand(books), by_hand(books, team=False)
    assert team != everyone and sum(c for c, _ in team.values()) == 6  # 一组's six of eleven
    query = {"dataset": "intake.applications", **BY_STATUS}

    # the ad-hoc query
    assert rows_of(collector.post("/reports/query", json=query)) == team

    # a saved report of the risk manager's, shared with collectors: their numbers, not his
    saved = staff["risk"].post(
        "/reports",
        json={
            "name": "按状态",
            "dataset": "intake.applications",
            "spec": BY_STATUS,
            "chart_type": "bar",
            "shared_with_roles": ["collector"],
        },
    )
    assert saved.status_code == 201, saved.get_json()
    report_id = saved.get_json()["id"]
    assert rows_of(collector.post(f"/reports/{report_id}/run")) == team
    assert rows_of(staff["finance"].post("/reports/query", json=query)) == everyone

    # the built-in reports over applications
    by_unit = collector.post("/reports/builtin/intake.applications_by_unit/run")
    assert by_unit.status_code == 200, by_unit.get_json()
    units = {r["org_unit_id"] for r in by_unit.get_json()["rows"]}
    assert units == {books.desk.firm.units["team1"]}
    assert {r["status"]: (r["count"], r["amount_sum"]) for r in by_unit.get_json()["rows"]} == team
    funnel = collector.post("/reports/builtin/intake.application_funnel/run")
    assert funnel.status_code == 200, funnel.get_json()
    submitted = sum(c for s, (c, _) in team.items() if s != "draft")
    assert sum(r["count"] for r in funnel.get_json()["rows"]) == submitted

    # a dashboard of that report
    board = staff["risk"].post(
        "/dashboards",
        json={
            "name": "团队看板",
            "tiles": [{"report_id": report_id, "x": 0, "y": 0, "w": 6, "h": 4}],
            "filters": ["date"],
            "shared_with_roles": ["collector"],
        },
    )
    assert board.status_code == 201, board.get_json()
    ran = collector.post(f"/dashboards/{board.get_json()['id']}/run", json={})
    assert ran.status_code == 200, ran.get_json()
    (tile,) = ran.get_json()["tiles"]
    rows = tile["result"]["rows"]
    assert {r["status"]: (r["count"], r["amount_sum"]) for r in rows} == team

    # the exports, CSV and Excel, of the saved report
    _header, *lines = csv_rows(collector.get(f"/reports/{report_id}/export?format=csv"))
    assert sum(int(line[1]) for line in lines) == 6
    workbook = collector.get(f"/reports/{report_id}/export?format=xlsx")
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.data)).active
    assert sheet is not None
    counts = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sum(int(c) for c in counts if c is not None) == 6


def test_a_measure_over_a_hidden_field_is_neither_offered_nor_accepted(
    books: Books, collector: ApiClient, api_a: ApiClient, staff: dict[str, ApiClient]
) -> None:
    fields = {k: "view" for k in APPLICATION_FIELDS if k != "amount"}
    _grant(api_a, "collector", scope="team", fields=fields, export=list(fields))
    listed = collector.get("/reports/datasets").get_json()
    applications = next(d for d in listed["items"] if d["key"] == "intake.applications")
    offered = {m["key"] for m in applications["measures"]}
    assert "count" in offered and not {"amount_sum", "amount_avg"} & offered

    asks: list[Callable[[], Any]] = [
        lambda: collector.post(
            "/reports/query",
            json={"dataset": "intake.applications", "measures": ["count", "amount_sum"]},
        ),
        lambda: collector.post(
            "/reports/export",
            json={"dataset": "intake.applications", "measures": ["amount_sum"], "format": "csv"},
        ),
        lambda: collector.post(
            "/reports",
            json={
                "name": "金额",
                "dataset": "intake.applications",
                "spec": {"measures": ["amount_sum"]},
                "chart_type": "number",
            },
        ),
    ]
    for ask in asks:
        answer = ask()
        assert answer.status_code == 422, answer.get_json()
        problems = answer.get_json()["errors"]
        assert any("amount_sum" in " ".join(v) for v in problems.values()), problems
    # a report of someone else's that uses it runs for them, and is refused to the collector
    # (never their numbers)
    theirs = staff["risk"].post(
        "/reports",
        json={
            "name": "金额合计",
            "dataset": "intake.applications",
            "spec": {"measures": ["count", "amount_sum"]},
            "chart_type": "number",
            "shared_with_roles": ["collector"],
        },
    )
    assert theirs.status_code == 201
    refused = collector.post(f"/reports/{theirs.get_json()['id']}/run")
    assert refused.status_code == 422 and "rows" not in refused.get_json()
    assert staff["risk"].post(f"/reports/{theirs.get_json()['id']}/run").status_code == 200
