"""Saved reports: created, changed and deleted by their owner (audited), seen by the roles
they are shared with and by managers of reports, checked when saved like a query, and run
under the viewer's data scope and field permissions — never the author's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ApiClient, TenantFixture
from tests.platform.reports.conftest import SEED, Books, reports_client
from tests.platform.reports.test_catalog import APPLICATION_FIELDS
from tests.plugins.customers.conftest import audit_events

APPLICATIONS = "intake.applications"
SCOPES = ("reports:read", "reports:write")


def body(**values: Any) -> dict[str, Any]:
    return {
        "name": "月度放款",
        "description": "每月的申请笔数与金额",
        "dataset": APPLICATIONS,
        "spec": {"measures": ["count", "amount_sum"]},
        "chart_type": "bar",
        **values,
    }


def save(api: ApiClient, **values: Any) -> dict[str, Any]:
    response = api.post("/reports", json=body(**values))
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def names(api: ApiClient) -> list[str]:
    response = api.get("/reports")
    assert response.status_code == 200, response.get_json()
    return [r["name"] for r in response.get_json()["items"]]


def totals(owner: str | None = None) -> dict[str, Any]:
    """Count and total amount of the seeded applications (of ``owner``), by hand."""
    mine = [row for row in SEED if owner in (None, row[0])]
    return {"count": len(mine), "amount_sum": str(sum(Decimal(row[3]) for row in mine))}


def test_create_change_and_delete_are_audited(
    books: Books, staff: dict[str, ApiClient], app: Flask
) -> None:
    officer = staff["officer1"]
    spec = {
        "dimensions": [{"key": "created_at", "bucket": "month"}],
        "measures": ["count", "amount_sum"],
        "filters": ["amount:ge:1000"],
        "sort": "-amount_sum",
        "limit": 12,
    }
    created = save(officer, spec=spec)
    assert created["owner_id"] == books.desk.firm.staff["officer1"].user_id
    assert created["spec"] == spec
    assert (created["chart_type"], created["version"]) == ("bar", 1)
    assert officer.get(f"/reports/{created['id']}").get_json()["name"] == "月度放款"

    changed = officer.put(
        f"/reports/{created['id']}", json=body(name="按月放款", chart_type="line")
    )
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["chart_type"], changed.get_json()["version"]) == ("line", 2)
    assert names(officer) == ["按月放款"]

    assert officer.delete(f"/reports/{created['id']}").status_code == 204
    assert officer.get(f"/reports/{created['id']}").status_code == 404
    assert names(officer) == []

    firm = books.desk.firm
    (create,) = audit_events(app, firm, "report.create")
    assert (create.record_type, create.record_id) == ("report", created["id"])
    assert create.diff["spec"] == spec
    (update,) = audit_events(app, firm, "report.update")
    assert update.diff["name"] == ["月度放款", "按月放款"]
    assert update.diff["chart_type"] == ["bar", "line"]
    (delete,) = audit_events(app, firm, "report.delete")
    assert delete.diff["name"] == "按月放款"


def test_who_sees_and_who_changes_a_report(staff: dict[str, ApiClient]) -> None:
    shared = save(staff["officer1"], name="共享", shared_with_roles=["credit_officer"])
    private = save(staff["officer1"], name="私有")

    assert names(staff["officer1"]) == ["共享", "私有"]
    assert names(staff["officer3"]) == ["共享"]  # a credit officer too
    assert names(staff["finance"]) == []
    assert names(staff["risk"]) == ["共享", "私有"]  # reports.manage
    second = staff["risk"].get("/reports", query_string={"per_page": 1, "page": 2}).get_json()
    assert [r["name"] for r in second["items"]] == ["私有"]
    assert (second["total"], second["page"], second["per_page"]) == (2, 2, 1)
    assert staff["finance"].get(f"/reports/{shared['id']}").status_code == 404
    assert staff["officer3"].get(f"/reports/{private['id']}").status_code == 404

    # seeing is not changing: only the owner and a manager of reports may
    refused = staff["officer3"].put(f"/reports/{shared['id']}", json=body(name="共享"))
    assert refused.status_code == 403, refused.get_json()
    assert staff["officer3"].delete(f"/reports/{shared['id']}").status_code == 403
    changed = staff["risk"].put(
        f"/reports/{private['id']}", json=body(name="私有", shared_with_roles=["finance"])
    )
    assert changed.status_code == 200, changed.get_json()
    assert names(staff["finance"]) == ["私有"]
    assert staff["risk"].delete(f"/reports/{shared['id']}").status_code == 204
    assert names(staff["officer3"]) == []


def test_a_shared_report_counts_each_viewers_own_records(staff: dict[str, ApiClient]) -> None:
    report = save(staff["officer1"], shared_with_roles=["credit_officer", "finance"])

    def run(who: str) -> list[dict[str, Any]]:
        response = staff[who].post(f"/reports/{report['id']}/run")
        assert response.status_code == 200, response.get_json()
        return list(response.get_json()["rows"])

    assert run("officer1") == [totals("officer1")] == [{"count": 4, "amount_sum": "43700.50"}]
    assert run("officer3") == [totals("officer3")]
    assert run("finance") == [totals()]
    assert staff["auditor"].post(f"/reports/{report['id']}/run").status_code == 404


def test_a_viewer_who_may_not_see_a_field_gets_a_422_naming_the_report(
    staff: dict[str, ApiClient], api_a: ApiClient
) -> None:
    report = save(staff["risk"], name="金额", shared_with_roles=["credit_officer"])
    role = next(r for r in api_a.get("/roles").get_json() if r["key"] == "credit_officer")
    fields = dict.fromkeys(APPLICATION_FIELDS, "edit")
    fields.pop("amount")
    put = api_a.put(
        f"/roles/{role['id']}/record-access/application", json={"scope": "own", "fields": fields}
    )
    assert put.status_code == 200, put.get_json()

    response = staff["officer1"].post(f"/reports/{report['id']}/run")
    assert response.status_code == 422, response.get_json()
    found = response.get_json()
    assert "金额" in found["message"]
    assert found["errors"] == {"spec.measures.1": ["No measure amount_sum."]}
    # the author still gets theirs
    assert staff["risk"].post(f"/reports/{report['id']}/run").status_code == 200


def test_a_report_is_checked_when_saved(staff: dict[str, ApiClient]) -> None:
    def refused(**values: Any) -> dict[str, Any]:
        response = staff["officer1"].post("/reports", json=body(**values))
        assert response.status_code == 422, response.get_json()
        return dict(response.get_json()["errors"])

    assert refused(
        spec={"dimensions": [{"key": "nope"}], "measures": ["count", "nope"], "limit": 0},
        chart_type="radar",
        shared_with_roles=["credit_officer", "astronaut"],
    ) == {
        "spec.dimensions.0": ["No dimension nope to group by."],
        "spec.measures.1": ["No measure nope."],
        "spec.limit": ["A limit from 1 to 1000."],
        "chart_type": ["One of table, pivot, line, bar, stacked_bar, pie, funnel, number, map."],
        "shared_with_roles": ["No role astronaut."],
    }
    assert refused(dataset="nope.nothing") == {"dataset": ["No dataset nope.nothing."]}
    assert set(refused(name="")) == {"name"}
    assert refused(name="   ") == {"name": ["A report needs a name."]}
    save(staff["officer1"])
    assert staff["officer3"].post("/reports", json=body()).status_code == 409


def test_a_client_without_reports_write_may_list_but_not_save(books: Books) -> None:
    assert books.api["officer1"].get("/reports").status_code == 200
    response = books.api["officer1"].post("/reports", json=body())
    assert response.status_code == 403, response.get_json()


def test_another_tenants_reports_are_not_there(
    staff: dict[str, ApiClient], app: Flask, client: FlaskClient, tenant_b: TenantFixture
) -> None:
    report = save(staff["officer1"], shared_with_roles=["tenant_admin"])
    theirs = reports_client(app, client, tenant_b.slug, tenant_b.id, tenant_b.admin_user_id, SCOPES)
    assert theirs.get("/reports").get_json()["items"] == []
    assert theirs.get(f"/reports/{report['id']}").status_code == 404
    assert theirs.post(f"/reports/{report['id']}/run").status_code == 404
    assert theirs.delete(f"/reports/{report['id']}").status_code == 404
    assert names(staff["officer1"]) == ["月度放款"]
