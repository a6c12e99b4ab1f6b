# ruff: noqa: F811  (fixtures imported from the reports tests are used by name)
"""Built-in reports (issue 8, acceptance: each built-in report's numbers equal an independent
hand-written SQL query over the same seeded data): listed, run under the viewer's access
(their own numbers; 422 when they may not use what one needs), copied into a saved report,
and checked against their datasets when the app starts."""

from __future__ import annotations

from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ApiClient
from tests.platform.reports.conftest import Books, books, reports_client  # noqa: F401
from tests.platform.reports.test_catalog import APPLICATION_FIELDS
from tests.platform.reports.test_tasks_dataset import (
    approvals,  # noqa: F401
    hours,
    median,
    p90,
    tasks_by_hand,
)
from tests.plugins.customers.conftest import audit_events

BUILTINS = (
    "intake.application_funnel",
    "intake.applications_by_unit",
    "intake.approver_efficiency",
)


def run(api: ApiClient, key: str) -> list[dict[str, Any]]:
    response = api.post(f"/reports/builtin/{key}/run")
    assert response.status_code == 200, response.get_json()
    return list(response.get_json()["rows"])


def money(minor: Any) -> str | None:
    return None if minor is None else str(Decimal(int(minor)).scaleb(-2))


def rate(numerator: int, denominator: int) -> str | None:
    if not denominator:
        return None
    quotient = Decimal(numerator) / Decimal(denominator)
    return str(quotient.quantize(Decimal("0.0001"), ROUND_HALF_UP))


def test_the_builtin_reports_are_listed(approvals: Books) -> None:
    response = approvals.api["finance"].get("/reports/builtin")
    assert response.status_code == 200, response.get_json()
    found = {r["key"]: r for r in response.get_json()["items"]}
    assert tuple(found) == BUILTINS
    ranking = found["intake.approver_efficiency"]
    assert ranking["name_zh"] == "审批人效率排名"
    assert ranking["dataset"] == "intake.approval_tasks"
    assert ranking["spec"]["sort"] == "median_hours"
    assert ranking["default_roles"] == ["risk_manager"]
    assert all(r["usable"] for r in found.values())


def test_approver_efficiency_equals_hand_written_sql(approvals: Books) -> None:
    found = run(approvals.api["finance"], "intake.approver_efficiency")
    expected = {}
    tasks = tasks_by_hand(approvals)
    for approver in {t.approver for t in tasks}:
        mine = [t for t in tasks if t.approver == approver]
        seconds = [t.seconds for t in mine if t.seconds is not None]
        expected[approver] = {
            "approver": approver,
            "decisions": len(seconds),
            "median_hours": hours(median(seconds)),
            "avg_hours": hours(Decimal(sum(seconds)) / len(seconds)) if seconds else None,
            "p90_hours": hours(p90(seconds)),
            "overdue": sum(t.overdue for t in mine),
        }
    assert {r["approver"]: r for r in found} == expected
    # fastest median first: A (0.75 h), B (1.17 h), the risk manager (2.25 h)
    desk = approvals.desk
    assert [r["approver"] for r in found] == [str(desk.user(n)) for n in ("a", "b", "risk")]
    assert [r["median_hours"] for r in found] == ["0.75", "1.17", "2.25"]


def test_an_officer_ranks_approvers_on_their_own_applications_only(approvals: Books) -> None:
    found = run(approvals.api["officer1"], "intake.approver_efficiency")
    officer = str(approvals.desk.user("officer1"))
    mine = [t for t in tasks_by_hand(approvals) if t.owner == officer]
    decided = Counter(t.approver for t in mine if t.seconds is not None)
    assert {r["approver"]: r["decisions"] for r in found} == {
        a: decided[a] for a in {t.approver for t in mine}
    }
    assert sum(r["decisions"] for r in found) == 5  # of applications 1, 2 and 6


def test_the_funnel_by_month_equals_hand_written_sql(approvals: Books) -> None:
    found = run(approvals.api["finance"], "intake.application_funnel")
    local = (
        "to_char(submitted_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-01')"
        if approvals.dialect == "postgresql"
        else "strftime('%Y-%m-01', datetime(submitted_at, '+8 hours'))"
    )
    expected = approvals.sql(
        f"SELECT {local} AS month, count(*), "
        "sum(CASE WHEN status = 'approved' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) "
        "FROM intake_applications WHERE tenant_id = :tenant AND submitted_at IS NOT NULL "
        "GROUP BY month ORDER BY month"
    )
    assert found == [
        {
            "submitted_at": month,
            "count": count,
            "approved": approved,
            "rejected": rejected,
            "approval_rate": rate(approved, approved + rejected),
        }
        for month, count, approved, rejected in expected
    ]
    april = next(r for r in found if r["submitted_at"] == "2026-04-01")
    assert (april["count"], april["approved"], april["rejected"]) == (5, 1, 1)


def test_applications_by_unit_and_status_equal_hand_written_sql(approvals: Books) -> None:
    def by_hand(owner: Any = None) -> dict[tuple[str, str], tuple[int, str | None]]:
        mine = "AND owner_id = :owner " if owner else ""
        rows = approvals.sql(
            "SELECT org_unit_id, status, count(*), sum(amount) FROM intake_applications "
            f"WHERE tenant_id = :tenant {mine}GROUP BY org_unit_id, status",
            **({"owner": owner.hex if approvals.dialect == "sqlite" else owner} if owner else {}),
        )
        return {(str(_uuid(u)), s): (c, money(t)) for u, s, c, t in rows}

    def found(who: str) -> dict[tuple[str, str], tuple[int, str | None]]:
        rows = run(approvals.api[who], "intake.applications_by_unit")
        return {(r["org_unit_id"], r["status"]): (r["count"], r["amount_sum"]) for r in rows}

    assert found("finance") == by_hand()
    officer = approvals.desk.user("officer1")
    assert found("officer1") == by_hand(officer)
    assert found("officer1") != found("finance")


def _uuid(value: Any) -> Any:
    import uuid

    return uuid.UUID(str(value))


def test_a_viewer_who_may_not_use_what_it_needs_gets_a_422(
    approvals: Books, api_a: ApiClient
) -> None:
    role = next(r for r in api_a.get("/roles").get_json() if r["key"] == "credit_officer")
    fields = dict.fromkeys(APPLICATION_FIELDS, "edit")
    fields.pop("amount")
    put = api_a.put(
        f"/roles/{role['id']}/record-access/application", json={"scope": "own", "fields": fields}
    )
    assert put.status_code == 200, put.get_json()
    api = approvals.api["officer1"]
    response = api.post("/reports/builtin/intake.applications_by_unit/run")
    assert response.status_code == 422, response.get_json()
    assert "各部门申请状态分布" in response.get_json()["message"]
    assert response.get_json()["errors"] == {"spec.measures.1": ["No measure amount_sum."]}
    listed = {r["key"]: r["usable"] for r in api.get("/reports/builtin").get_json()["items"]}
    assert listed == {
        "intake.application_funnel": True,
        "intake.applications_by_unit": False,
        "intake.approver_efficiency": True,
    }


def test_an_unknown_builtin_is_404(books: Books) -> None:
    api = books.api["finance"]
    assert api.post("/reports/builtin/intake.nope/run").status_code == 404


def test_a_builtin_is_copied_into_a_saved_report(
    approvals: Books, app: Flask, client: FlaskClient
) -> None:
    firm = approvals.desk.firm
    api = reports_client(
        app,
        client,
        firm.tenant.slug,
        firm.tenant.id,
        firm.staff["finance"].user_id,
        ("reports:read", "reports:write"),
    )
    key = "intake.approver_efficiency"
    response = api.post(f"/reports/builtin/{key}/copy", json={})
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert report["name"] == "审批人效率排名"
    assert report["dataset"] == "intake.approval_tasks"
    assert report["shared_with_roles"] == ["risk_manager"]
    assert report["chart_type"] == "bar"
    assert report["owner_id"] == firm.staff["finance"].user_id
    saved = api.post(f"/reports/{report['id']}/run").get_json()["rows"]
    assert saved == run(api, key)
    created = audit_events(approvals.desk.app, firm, "report.create")
    assert [e.record_id for e in created] == [report["id"]]
    assert api.post(f"/reports/builtin/{key}/copy", json={}).status_code == 409
    assert api.post("/reports/builtin/intake.nope/copy", json={}).status_code == 404
    renamed = api.post(
        f"/reports/builtin/{key}/copy", json={"name": "我的排名", "shared_with_roles": []}
    )
    assert renamed.status_code == 201, renamed.get_json()
    assert renamed.get_json()["shared_with_roles"] == []
    # reading is not writing
    assert approvals.api["finance"].post(f"/reports/builtin/{key}/copy", json={}).status_code == 403


def test_the_host_refuses_a_broken_builtin_at_start() -> None:
    from loandesk_intake import reports

    from loandesk.plugins.host import PluginError, PluginHost
    from loandesk.plugins.info import PluginInfo
    from loandesk.reports.builtin import BuiltinReport
    from loandesk.sdk import hookimpl

    def report(key: str = "extra.r", dataset: str = "intake.applications", **spec: Any) -> Any:
        return BuiltinReport(key, "x", "x", dataset, {"measures": ["count"], **spec})

    class Extra:
        PLUGIN = PluginInfo(name="extra", title_zh="x", title_en="x", version="0")

        def __init__(self, *built: BuiltinReport) -> None:
            self.built = list(built)

        @hookimpl
        def loandesk_builtin_reports(self) -> list[BuiltinReport]:
            return self.built

    import loandesk_customers
    import loandesk_intake

    for built, problem in (
        ((report("intake.r"),), r"must start with 'extra\.'"),
        ((report(dataset="intake.nope"),), "no dataset 'intake.nope'"),
        ((report(dimensions=["nope"]),), "no dimension 'nope'"),
        ((report(measures=["count", "nope"]),), "no measure 'nope'"),
        ((report(dimensions=[{"key": "status", "bucket": "month"}]),), "'status' by 'month'"),
        ((report(sort="-amount_sum"),), "sort '-amount_sum'"),
        ((report(filters=["nope:eq:1"]),), "filter 'nope:eq:1'"),
        ((report(), report()), "two built-in reports"),
    ):
        host = PluginHost()
        host.register(loandesk_customers)
        host.register(loandesk_intake)
        host.register(Extra(*built))
        with pytest.raises(PluginError, match=problem):
            host.gather()
    host = PluginHost()
    host.register(loandesk_customers)
    host.register(loandesk_intake)
    host.register(Extra(report()))
    host.gather()
    assert [r.key for r in host.builtin_reports(["extra"])] == ["extra.r"]
    assert [r.key for r in host.builtin_reports(["intake"])] == [
        r.key for r in reports.BUILTIN_REPORTS
    ]
