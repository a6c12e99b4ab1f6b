"""The approvals API, reading (issue 6, point 7): boxes with filters and pages, counts, one
approval as each viewer sees it (values under their field permissions, what they may do
now), and who gets 404 — within the tenant and from another one."""

from __future__ import annotations

import uuid
from typing import Any

from tests.helpers import ApiClient, TenantFixture
from tests.platform.flows.api_helpers import client_for, ok, staff
from tests.platform.flows.conftest import Desk, approver


def cc_to(user: uuid.UUID) -> dict[str, Any]:
    return {
        "id": "cc",
        "type": "cc",
        "name": "抄送",
        "assignees": [{"kind": "user", "user": str(user)}],
    }


def titles(page: dict[str, Any]) -> list[str]:
    return [item["title"] for item in page["items"]]


def test_boxes_counts_filters_and_pages(desk: Desk) -> None:
    desk.publish(
        [cc_to(desk.user("collector")), approver("first", [desk.user("a"), desk.user("b")])]
    )
    submitted = [desk.submit(amount) for amount in ("1000", "2000", "3000")]
    numbers = [
        desk.firm.staff["officer1"].api.get(f"/applications/{a}").get_json()["number"]
        for a, _ in submitted
    ]
    a, officer, collector = staff(desk, "a"), staff(desk, "officer1"), staff(desk, "collector")

    todo = ok(a.get("/approvals"))
    assert todo["total"] == 3 and titles(todo) == numbers  # oldest first, as a queue
    first = todo["items"][0]
    assert first["id"] == str(submitted[0][1]) and first["record_type"] == "application"
    assert first["record_id"] == submitted[0][0] and first["state"] == "running"
    assert first["submitter"]["name"] == "officer1" and first["unread"] is None
    assert first["step"]["node_id"] == "first" and first["step"]["overdue"] is False
    assert first["task"]["state"] == "pending" and first["task"]["decided_at"] is None
    page = ok(a.get("/approvals?box=todo&per_page=2&page=2"))
    assert page["total"] == 3 and page["page"] == 2 and titles(page) == numbers[2:]
    assert ok(a.get("/approvals/counts")) == {"todo": 3, "cc": 0, "submitted": 0}
    assert ok(officer.get("/approvals/counts")) == {"todo": 0, "cc": 0, "submitted": 3}
    assert ok(collector.get("/approvals/counts")) == {"todo": 0, "cc": 3, "submitted": 0}

    ok(a.post(f"/approvals/{submitted[0][1]}/approve", json={"comment": "同意"}))
    assert titles(ok(a.get("/approvals?box=done"))) == numbers[:1]
    assert ok(a.get("/approvals"))["total"] == 2
    mine = ok(officer.get("/approvals?box=submitted"))
    assert titles(mine) == numbers[::-1]  # newest first
    assert titles(ok(officer.get("/approvals?box=submitted&state=approved"))) == numbers[:1]
    assert titles(ok(officer.get(f"/approvals?box=submitted&q={numbers[1]}"))) == numbers[1:2]
    assert ok(officer.get("/approvals?box=submitted&q=SQ%25"))["total"] == 0  # % is no wildcard
    assert ok(officer.get("/approvals?box=submitted&record_type=customer"))["total"] == 0
    assert ok(officer.get("/approvals?box=submitted&submitted_from=2000-01-01"))["total"] == 3
    assert ok(officer.get("/approvals?box=submitted&submitted_to=2000-01-01"))["total"] == 0
    assert ok(officer.get("/approvals?box=submitted&overdue=true"))["total"] == 0  # no deadlines

    cc = ok(collector.get("/approvals?box=cc"))
    assert cc["total"] == 3 and {i["unread"] for i in cc["items"]} == {True}
    ok(collector.get(f"/approvals/{submitted[1][1]}"))  # opening marks it read
    unread = {i["title"]: i["unread"] for i in ok(collector.get("/approvals?box=cc"))["items"]}
    assert unread == {numbers[0]: True, numbers[1]: False, numbers[2]: True}
    assert ok(collector.get("/approvals/counts"))["cc"] == 2

    for bad in ("box=later", "state=lost", "per_page=0", "submitted_from=yesterday"):
        assert a.get(f"/approvals?{bad}").status_code == 422, bad


def test_one_approval_as_each_viewer_sees_it(desk: Desk, api_a: ApiClient) -> None:
    desk.publish([approver("first", [desk.user("a")]), approver("second", [desk.user("b")])])
    application, instance = desk.submit("80000")
    a, b, officer = staff(desk, "a"), staff(desk, "b"), staff(desk, "officer1")

    seen = ok(a.get(f"/approvals/{instance}"))
    assert seen["state"] == "running" and seen["version"] == 1 and seen["record_id"] == application
    assert (seen["current_node"], seen["current_node_name"]) == ("first", "first")
    assert seen["submitter"] == {"id": desk.firm.staff["officer1"].user_id, "name": "officer1"}
    assert seen["values"]["amount"] == "80000.00" and seen["values"]["term_months"] == 12
    assert [t["action"] for t in seen["timeline"]] == ["submitted", "assigned"]
    (step,) = seen["steps"]
    assert step["node_id"] == "first" and step["mode"] == "any" and step["state"] == "active"
    assert [(t["assignee"]["name"], t["state"]) for t in step["tasks"]] == [("a", "pending")]
    assert seen["allowed"] == {
        "approve": True,
        "reject": True,
        "send_back": [{"to": "submitter", "name": ""}],
        "transfer": True,
        "add_signer": True,
        "withdraw": False,
        "comment": True,
        "bulk": False,
    }
    as_submitter = ok(officer.get(f"/approvals/{instance}"))["allowed"]
    assert as_submitter["withdraw"] and as_submitter["comment"] and not as_submitter["approve"]
    # B takes no part yet and a credit officer's scope is their own records: 404
    assert b.get(f"/approvals/{instance}").status_code == 404

    ok(a.post(f"/approvals/{instance}/approve", json={}))
    later = ok(b.get(f"/approvals/{instance}"))
    assert later["allowed"]["send_back"] == [
        {"to": "submitter", "name": ""},
        {"to": "first", "name": "first"},
    ]
    assert [s["state"] for s in later["steps"]] == ["approved", "active"]
    assert later["steps"][0]["tasks"][0]["decided_by"]["name"] == "a"
    assert ok(a.get(f"/approvals/{instance}"))["allowed"]["approve"] is False

    # the risk manager takes no part but their scope (their unit) reaches the record; their
    # field permissions decide the values: amount masked, the term hidden
    risk = staff(desk, "risk")
    roles = ok(api_a.get("/roles"))
    role = next(r for r in roles if r["key"] == "risk_manager")
    grant = {"scope": "unit", "fields": {"number": "view", "amount": "masked"}, "export": []}
    ok(api_a.put(f"/roles/{role['id']}/record-access/application", json=grant))
    watched = ok(risk.get(f"/approvals/{instance}"))
    assert watched["values"]["amount"] == "****" and "term_months" not in watched["values"]
    assert not any(v for k, v in watched["allowed"].items())

    # neither taking part nor reaching the record: 404, for reading and acting alike
    for name in ("collector", "officer2"):
        outsider = staff(desk, name)
        assert outsider.get(f"/approvals/{instance}").status_code == 404
        assert outsider.post(f"/approvals/{instance}/approve", json={}).status_code == 404
    assert a.get(f"/approvals/{uuid.uuid4()}").status_code == 404


def test_another_tenants_approval_is_404(desk: Desk, tenant_b: TenantFixture) -> None:
    desk.publish([approver("first", [desk.user("a")])])
    _application, instance = desk.submit("1000")
    # tenant B's admin manages flows there (a manager may follow any approval of theirs)
    other = client_for(
        desk.app, tenant_b, tenant_b.admin_user_id, ("approvals:read", "approvals:write")
    )
    assert other.get(f"/approvals/{instance}").status_code == 404
    refused = other.post(f"/approvals/{instance}/approve", json={})
    assert refused.status_code == 404 and refused.get_json()["code"] == "not_found"
    assert ok(other.get("/approvals?box=submitted"))["total"] == 0
    a = staff(desk, "a")
    assert ok(a.get(f"/approvals/{instance}"))["state"] == "running"


def test_an_approval_of_a_disabled_plugin_is_404(desk: Desk, api_a: ApiClient) -> None:
    desk.publish([approver("first", [desk.user("a")])])
    _application, instance = desk.submit("1000")
    ok(api_a.put("/plugins/intake", json={"enabled": False}))
    gone = staff(desk, "a").get(f"/approvals/{instance}")
    assert gone.status_code == 404 and gone.get_json()["message"] == "No such approval."


def test_reading_needs_a_staff_member_and_the_scope(desk: Desk, api_a: ApiClient) -> None:
    desk.publish([approver("first", [desk.user("a")])])
    _application, instance = desk.submit("1000")
    refused = api_a.get("/approvals")  # the tenant's client acts for nobody
    assert refused.status_code == 403
    assert "acts for no active staff member" in refused.get_json()["message"]
    records_only = staff(desk, "a", ("records:read",))
    denied = records_only.get(f"/approvals/{instance}")
    assert denied.status_code == 403 and denied.get_json()["code"] == "insufficient_scope"
    reader = staff(desk, "a", ("approvals:read",))
    assert ok(reader.get(f"/approvals/{instance}"))["allowed"]["approve"] is True
    write = reader.post(f"/approvals/{instance}/approve", json={})
    assert write.status_code == 403 and write.get_json()["code"] == "insufficient_scope"
