"""Dashboards: created, changed and deleted by their owner (audited), seen by the roles they
are shared with or are the default of and by managers of reports, never by another tenant;
run tile by tile under the viewer's data scope with the global filters each tile's dataset
supports — the numbers equal hand-written SQL over the seeded applications — and a tile
whose report was deleted or is not shared with the viewer fails alone."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ApiClient, TenantFixture
from tests.platform.reports.conftest import SEED, Books, reports_client
from tests.platform.reports.test_query import money
from tests.plugins.customers.conftest import audit_events

SCOPES = ("reports:read", "reports:write")


def report(api: ApiClient, name: str, **values: Any) -> str:
    body = {
        "name": name,
        "dataset": "intake.applications",
        "spec": {"measures": ["count", "amount_sum"]},
        "chart_type": "number",
        "shared_with_roles": ["credit_officer", "finance"],
        **values,
    }
    response = api.post("/reports", json=body)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def tile(report_id: str, x: int = 0, y: int = 0, w: int = 6, h: int = 4) -> dict[str, Any]:
    return {"report_id": report_id, "x": x, "y": y, "w": w, "h": h}


def body(*tiles: dict[str, Any], **values: Any) -> dict[str, Any]:
    return {
        "name": "经营总览",
        "description": "每日晨会",
        "tiles": list(tiles),
        "filters": ["date", "org_unit", "product"],
        "refresh_seconds": 60,
        "shared_with_roles": ["credit_officer", "finance"],
        **values,
    }


def save(api: ApiClient, *tiles: dict[str, Any], **values: Any) -> dict[str, Any]:
    response = api.post("/dashboards", json=body(*tiles, **values))
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def names(api: ApiClient) -> list[str]:
    response = api.get("/dashboards")
    assert response.status_code == 200, response.get_json()
    return [d["name"] for d in response.get_json()["items"]]


def run(api: ApiClient, dashboard: dict[str, Any], **filters: Any) -> list[dict[str, Any]]:
    response = api.post(f"/dashboards/{dashboard['id']}/run", json=filters)
    assert response.status_code == 200, response.get_json()
    return list(response.get_json()["tiles"])


def test_create_change_and_delete_are_audited(
    books: Books, staff: dict[str, ApiClient], app: Flask
) -> None:
    officer = staff["officer1"]
    mine = report(officer, "我的申请")
    created = save(officer, tile(mine, x=6, y=0), tile(mine, x=0, y=0))
    assert created["owner_id"] == books.desk.firm.staff["officer1"].user_id
    assert [t["x"] for t in created["tiles"]] == [0, 6]  # by row, then column
    assert (created["version"], created["refresh_seconds"]) == (1, 60)
    assert created["filters"] == ["date", "product", "org_unit"]
    assert officer.get(f"/dashboards/{created['id']}").get_json()["name"] == "经营总览"

    changed = officer.put(
        f"/dashboards/{created['id']}", json=body(tile(mine, w=12), name="晨会", filters=[])
    )
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["version"], changed.get_json()["filters"]) == (2, [])
    assert names(officer) == ["晨会"]

    assert officer.delete(f"/dashboards/{created['id']}").status_code == 204
    assert officer.get(f"/dashboards/{created['id']}").status_code == 404
    assert names(officer) == []

    firm = books.desk.firm
    (create,) = audit_events(app, firm, "dashboard.create")
    assert (create.record_type, create.record_id) == ("dashboard", created["id"])
    assert create.diff["tiles"] == created["tiles"]
    (update,) = audit_events(app, firm, "dashboard.update")
    assert update.diff["name"] == ["经营总览", "晨会"]
    (delete,) = audit_events(app, firm, "dashboard.delete")
    assert delete.diff["name"] == "晨会"


def test_who_sees_and_who_changes_a_dashboard(staff: dict[str, ApiClient]) -> None:
    shared_report = report(staff["officer1"], "共享报表")
    shared = save(staff["officer1"], tile(shared_report), name="共享")
    private = save(staff["officer1"], tile(shared_report), name="私有", shared_with_roles=[])

    assert names(staff["officer1"]) == ["共享", "私有"]
    assert names(staff["officer3"]) == ["共享"]
    assert names(staff["auditor"]) == []
    assert names(staff["risk"]) == ["共享", "私有"]  # reports.manage
    page = staff["risk"].get("/dashboards", query_string={"per_page": 1, "page": 2}).get_json()
    assert ([d["name"] for d in page["items"]], page["total"]) == (["私有"], 2)
    assert staff["officer3"].get(f"/dashboards/{private['id']}").status_code == 404

    refused = staff["officer3"].put(f"/dashboards/{shared['id']}", json=body(name="共享"))
    assert refused.status_code == 403, refused.get_json()
    assert staff["officer3"].delete(f"/dashboards/{shared['id']}").status_code == 403
    changed = staff["risk"].put(
        f"/dashboards/{private['id']}", json=body(name="私有", shared_with_roles=["auditor"])
    )
    assert changed.status_code == 200, changed.get_json()
    assert names(staff["auditor"]) == ["私有"]
    assert staff["risk"].delete(f"/dashboards/{shared['id']}").status_code == 204


def test_a_dashboard_is_checked_when_saved(staff: dict[str, ApiClient]) -> None:
    private = report(staff["officer1"], "私有报表", shared_with_roles=[])
    own = report(staff["officer3"], "二组报表")

    def refused(*tiles: dict[str, Any], **values: Any) -> dict[str, Any]:
        response = staff["officer3"].post("/dashboards", json=body(*tiles, **values))
        assert response.status_code == 422, response.get_json()
        return dict(response.get_json()["errors"])

    assert refused(
        tile(private),  # officer1's, not shared: officer3 may not place it
        tile(own, x=8, w=6),
        tile(own, x=0, y=2, w=4),
        filters=["date", "weather"],
        refresh_seconds=5,
        shared_with_roles=["astronaut"],
    ) == {
        "tiles.0.report_id": ["No such report."],
        "tiles.1": ["A tile must lie within the grid's 12 columns."],
        "tiles.2": ["This tile overlaps tile 1."],
        "filters": ["One of date, product, org_unit, channel."],
        "refresh_seconds": ["No refresh, or every 30 to 86400 seconds."],
        "shared_with_roles": ["No role astronaut."],
    }
    assert refused(name="  ") == {"name": ["A dashboard needs a name."]}
    assert set(refused({"report_id": own, "x": "0", "y": 0, "w": 1, "h": 1})) == {"tiles"}
    save(staff["officer3"], tile(own))
    assert staff["officer1"].post("/dashboards", json=body()).status_code == 409
    assert staff["officer1"].get("/dashboards").status_code == 200


def test_global_filters_narrow_each_tile_as_hand_written_sql(
    books: Books, staff: dict[str, ApiClient]
) -> None:
    totals = report(staff["risk"], "申请汇总")
    by_status = report(
        staff["risk"],
        "按状态",
        spec={"dimensions": [{"key": "status"}], "measures": ["count"], "sort": "status"},
        chart_type="bar",
    )
    customers = report(
        staff["risk"], "客户数", dataset="customers.customers", spec={"measures": ["count"]}
    )
    board = save(staff["risk"], tile(totals), tile(by_status, x=6), tile(customers, y=4, w=12))
    firm = books.desk.firm
    chosen = {"date_from": "2026-02-01", "date_to": "2026-02-28", "org_unit": firm.units["branch"]}

    local = (
        "to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"
        if books.dialect == "postgresql"
        else "strftime('%Y-%m-%d', datetime(created_at, '+8 hours'))"
    )
    branch = {firm.units[u].replace("-", "") for u in ("branch", "team1", "team2")}

    def expected(owner: str | None = None) -> list[tuple[str, int, int]]:
        """(status, count, amount) in February (Beijing days) in the branch, by hand."""
        found = books.sql(
            f"SELECT org_unit_id, owner_id, status, count(*), sum(amount) "
            f"FROM intake_applications WHERE tenant_id = :tenant "
            f"AND {local} >= '2026-02-01' AND {local} <= '2026-02-28' "
            "GROUP BY org_unit_id, owner_id, status"
        )
        mine = owner and firm.staff[owner].user_id.replace("-", "")
        kept = [
            r
            for r in found
            if str(r[0]).replace("-", "") in branch
            and (mine is None or str(r[1]).replace("-", "") == mine)
        ]
        statuses = sorted({r[2] for r in kept})
        return [
            (s, sum(r[3] for r in kept if r[2] == s), sum(r[4] for r in kept if r[2] == s))
            for s in statuses
        ]

    for who, owner in (("finance", None), ("risk", None), ("officer1", "officer1")):
        first, second, third = run(staff[who], board, **chosen)
        assert "error" not in first, first
        want = expected(owner)
        assert first["result"]["rows"] == [
            {"count": sum(r[1] for r in want), "amount_sum": money(sum(r[2] for r in want))}
        ]
        assert second["result"]["rows"] == [{"status": s, "count": c} for s, c, _ in want]
        assert first["unfiltered"] == second["unfiltered"] == []
        assert (first["name"], first["chart_type"]) == ("申请汇总", "number")
        if who == "finance":  # who may not see a customer's created_at may not filter by it
            problems = third["error"]["errors"]
            assert problems["spec.filter.0"] == ["No field created_at to filter by."]
        else:  # the seeded customers were added today, not in February
            assert third["result"]["rows"] == [{"count": 0}], third
    # February in Beijing, in the branch: 1 Feb (31 Jan 17:30 UTC), 2 Feb and 14 Feb; 28 Feb
    # 23:00 UTC is 1 March there, and the finance clerk's company unit is not the branch
    assert expected() == [("approved", 2, 8000000), ("submitted", 1, 120000)]
    assert expected("officer1") == [("approved", 1, 3000000), ("submitted", 1, 120000)]

    # no filter chosen: every seeded application the viewer may see
    (first, _, _) = run(staff["finance"], board)
    assert first["result"]["rows"][0]["count"] == len(SEED)


def test_a_filter_a_dataset_does_not_support_is_named_not_applied(
    books: Books, staff: dict[str, ApiClient]
) -> None:
    totals = report(staff["risk"], "申请汇总")
    board = save(staff["risk"], tile(totals))
    (only,) = run(staff["finance"], board, product="consumer", date_from="2026-03-01")
    assert only["unfiltered"] == ["product"]
    assert only["result"]["rows"][0]["count"] == 5  # March in Beijing, whatever the product

    def refused(**filters: Any) -> dict[str, Any]:
        response = staff["finance"].post(f"/dashboards/{board['id']}/run", json=filters)
        assert response.status_code == 422, response.get_json()
        return dict(response.get_json()["errors"])

    assert refused(date_from="2026-03-02", date_to="2026-03-01") == {
        "date_to": ["The end date comes before the start date."]
    }
    assert set(refused(date_from="March")) == {"date_from"}
    assert refused(channel="online") == {"channel": ["This dashboard has no channel filter."]}


def test_a_tile_fails_alone(books: Books, staff: dict[str, ApiClient]) -> None:
    shared = report(staff["risk"], "共享")
    unshared = report(staff["risk"], "仅风控", shared_with_roles=[])
    doomed = report(staff["risk"], "将删除")
    board = save(staff["risk"], tile(shared), tile(unshared, x=6), tile(doomed, y=4), filters=[])
    # a report's deletion leaves its tiles: they say so
    assert staff["risk"].delete(f"/reports/{doomed}").status_code == 204

    first, second, third = run(staff["finance"], board)
    assert first["result"]["rows"][0]["count"] == len(SEED)
    assert second["error"]["code"] == "forbidden" and "result" not in second
    assert "not shared with you" in second["error"]["message"]
    assert third["error"] == {
        "code": "not_found",
        "message": "The report of this tile was deleted.",
        "errors": {},
    }
    # the author's own run still fails on the deleted report only
    _, mine, gone = run(staff["risk"], board)
    assert "result" in mine and gone["error"]["code"] == "not_found"


def test_a_default_dashboard_per_role(
    books: Books, staff: dict[str, ApiClient], app: Flask
) -> None:
    own = report(staff["risk"], "风控", shared_with_roles=[])
    board = save(staff["risk"], tile(own), name="风控看板", shared_with_roles=[])
    other = save(staff["risk"], tile(own), name="备用看板", shared_with_roles=[])
    assert staff["officer1"].get("/dashboards/default").status_code == 404
    assert names(staff["officer1"]) == []

    put = {"dashboard_id": board["id"]}
    refused = staff["officer1"].put("/dashboards/role-defaults/credit_officer", json=put)
    assert refused.status_code == 403, refused.get_json()
    missing = staff["risk"].put("/dashboards/role-defaults/astronaut", json=put)
    assert missing.status_code == 404
    assert (
        staff["risk"].put("/dashboards/role-defaults/credit_officer", json=put).status_code == 204
    )
    put = {"dashboard_id": other["id"]}
    assert staff["risk"].put("/dashboards/role-defaults/auditor", json=put).status_code == 204

    assert staff["officer1"].get("/dashboards/default").get_json()["name"] == "风控看板"
    assert names(staff["officer1"]) == ["风控看板"]  # a role's default is seen by its holders
    assert staff["auditor"].get("/dashboards/default").get_json()["name"] == "备用看板"
    assert staff["finance"].get("/dashboards/default").status_code == 404
    listed = staff["finance"].get("/dashboards/role-defaults").get_json()["items"]
    assert [(d["role"], d["dashboard_name"]) for d in listed] == [
        ("auditor", "备用看板"),
        ("credit_officer", "风控看板"),
    ]
    # the tile's report is the risk manager's own: the officer's tile says so
    (only,) = run(staff["officer1"], board)
    assert only["error"]["code"] == "forbidden"

    assert staff["risk"].delete("/dashboards/role-defaults/credit_officer").status_code == 204
    assert staff["officer1"].get("/dashboards/default").status_code == 404
    # deleting a dashboard leaves its roles without a default
    assert staff["risk"].delete(f"/dashboards/{other['id']}").status_code == 204
    assert staff["auditor"].get("/dashboards/default").status_code == 404

    events = audit_events(app, books.desk.firm, "dashboard.default")
    assert [e.diff["dashboard"] for e in events] == [
        [None, "风控看板"],
        [None, "备用看板"],
        ["风控看板", None],
    ]


def test_with_several_roles_the_first_roles_default_wins(
    books: Books, staff: dict[str, ApiClient], api_a: ApiClient
) -> None:
    own = report(staff["risk"], "风控")
    for name, role in (("甲", "finance"), ("乙", "auditor")):
        board = save(staff["risk"], tile(own), name=name, shared_with_roles=[])
        put = {"dashboard_id": board["id"]}
        assert staff["risk"].put(f"/dashboards/role-defaults/{role}", json=put).status_code == 204
    user = books.desk.firm.staff["finance"].user_id
    roles = api_a.patch(f"/users/{user}", json={"roles": ["finance", "auditor"]})
    assert roles.status_code == 200, roles.get_json()
    assert staff["finance"].get("/dashboards/default").get_json()["name"] == "乙"  # auditor


def test_another_tenants_dashboards_are_not_there(
    staff: dict[str, ApiClient], app: Flask, client: FlaskClient, tenant_b: TenantFixture
) -> None:
    board = save(staff["risk"], tile(report(staff["risk"], "汇总")), shared_with_roles=[])
    put = {"dashboard_id": board["id"]}
    assert staff["risk"].put("/dashboards/role-defaults/tenant_admin", json=put).status_code == 204
    theirs = reports_client(app, client, tenant_b.slug, tenant_b.id, tenant_b.admin_user_id, SCOPES)
    assert theirs.get("/dashboards").get_json()["items"] == []
    assert theirs.get(f"/dashboards/{board['id']}").status_code == 404
    assert theirs.post(f"/dashboards/{board['id']}/run", json={}).status_code == 404
    assert theirs.delete(f"/dashboards/{board['id']}").status_code == 404
    assert theirs.get("/dashboards/default").status_code == 404
    assert theirs.get("/dashboards/role-defaults").get_json()["items"] == []
    assert theirs.put("/dashboards/role-defaults/tenant_admin", json=put).status_code == 404
    assert names(staff["risk"]) == ["经营总览"]


def test_a_client_without_reports_write_may_list_but_not_save(books: Books) -> None:
    assert books.api["officer1"].get("/dashboards").status_code == 200
    response = books.api["officer1"].post("/dashboards", json=body())
    assert response.status_code == 403, response.get_json()


def test_global_filter_values_become_list_filters() -> None:
    from loandesk.reports.dashboards import GlobalFilters, _filters

    chosen = GlobalFilters(date(2026, 2, 1), date(2026, 2, 28), product="经营贷", channel="线上")
    fields = {"date": "created_at", "product": "product_key", "org_unit": "org_unit_id"}
    assert _filters(chosen, fields, ["u1", "u2"]) == [
        "created_at:ge:2026-02-01",
        "created_at:lt:2026-03-01",
        "org_unit_id:in:u1,u2",
        "product_key:eq:经营贷",
    ]
    assert chosen.chosen() == ["date", "product", "channel"]
