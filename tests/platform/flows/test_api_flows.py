"""The flows API (issue 6, point 7): listing the record types with flows, saving drafts with
their problems per node, publishing (422 keyed by node), versions, test runs, and who may."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import ApiClient, TenantFixture
from tests.platform.flows.api_helpers import client_for, ok, staff
from tests.platform.flows.conftest import Desk, approver
from tests.plugins.customers.conftest import audit_events


def policy(desk: Desk) -> list[dict[str, Any]]:
    a, b = desk.user("a"), desk.user("b")
    return [
        {
            "id": "by_amount",
            "type": "branch",
            "name": "按金额",
            "branches": [
                {
                    "id": "large",
                    "name": "大额",
                    "condition": "amount >= 50000",
                    "nodes": [
                        approver("credit_and", [a, b], mode="all"),
                        {
                            "id": "risk",
                            "type": "approver",
                            "name": "风控主管",
                            "assignees": [{"kind": "role", "role": "risk_manager"}],
                        },
                    ],
                },
                {
                    "id": "small",
                    "name": "小额",
                    "default": True,
                    "nodes": [approver("credit_or", [a, b], mode="any")],
                },
            ],
        },
        {"id": "cc", "type": "cc", "name": "抄送", "assignees": [{"kind": "manager"}]},
    ]


@pytest.fixture
def admin(desk: Desk) -> ApiClient:
    return staff(desk, "admin")


def test_record_types_with_flows_are_listed(desk: Desk, admin: ApiClient) -> None:
    items = ok(admin.get("/flows"))["items"]
    # customers have no approval (no on_flow): only applications go through one
    assert [i["record_type"] for i in items] == ["application"]
    assert items[0] | {"updated_at": None} == {
        "record_type": "application",
        "label_zh": "借款申请",
        "label_en": "Application",
        "name": "借款申请审批",
        "published_version": None,
        "unpublished_changes": False,
        "updated_at": None,
        "updated_by_id": None,
    }
    empty = ok(admin.get("/flows/application"))
    assert empty["nodes"] == [] and empty["problems"] == {
        "nodes": ["Add at least one approver node."]
    }
    assert admin.get("/flows/customer").status_code == 404
    assert admin.get("/flows/loan").status_code == 404


def test_a_draft_with_problems_is_saved_and_they_come_back_by_node(
    app: Any, desk: Desk, admin: ApiClient
) -> None:
    nodes = [
        {"id": "n1", "type": "approver", "name": "初审", "assignees": []},
        {
            "id": "b1",
            "type": "branch",
            "name": "金额",
            "branches": [
                {"id": "big", "condition": "amount >= 50000", "nodes": []},
                {"id": "odd", "condition": "colour == 'red'", "nodes": []},
            ],
        },
        {"id": "n2", "type": "approver", "assignees": [{"kind": "role", "role": "pilot"}]},
    ]
    saved = ok(admin.put("/flows/application", json={"name": "进件审批", "nodes": nodes}))
    assert saved["name"] == "进件审批" and saved["nodes"] == nodes
    assert saved["problems"] == {
        "n1": ["Choose who this node goes to."],
        "b1": ["A condition node needs a default branch."],
        "odd": [saved["problems"]["odd"][0]],
        "n2": ["No role is called pilot."],
    }
    assert "colour" in saved["problems"]["odd"][0]
    assert ok(admin.get("/flows/application"))["problems"] == saved["problems"]
    assert saved["updated_by_id"] == desk.firm.tenant.admin_user_id
    assert ok(admin.get("/flows"))["items"][0]["unpublished_changes"] is True
    assert len(audit_events(app, desk.firm, "flow.save_draft")) == 1

    # publishing refuses it with the same problems, keyed by node; nothing is published
    refused = admin.post("/flows/application/publish", json={"note": "v1"})
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["code"] == "validation_error" and body["errors"]["n2"] == saved["problems"]["n2"]
    assert ok(admin.get("/flows/application/versions"))["total"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "nodes"),
        ({"nodes": {"id": "n1"}}, "nodes"),
        ({"nodes": [], "name": ""}, "name"),
        ({"nodes": [], "name": "长" * 101}, "name"),
    ],
)
def test_malformed_drafts_are_422_and_change_nothing(
    desk: Desk, admin: ApiClient, body: dict[str, Any], field: str
) -> None:
    ok(admin.put("/flows/application", json={"nodes": policy(desk)}))
    refused = admin.put("/flows/application", json=body)
    assert refused.status_code == 422, refused.get_json()
    assert field in refused.get_json()["errors"]
    assert ok(admin.get("/flows/application"))["nodes"] == policy(desk)


def test_publishing_and_versions(desk: Desk, admin: ApiClient) -> None:
    ok(admin.put("/flows/application", json={"nodes": policy(desk)}))
    first = ok(admin.post("/flows/application/publish", json={"note": "首版"}), 201)
    assert first["number"] == 1 and first["in_force"] is True and first["note"] == "首版"
    assert first["published_by_id"] == desk.firm.tenant.admin_user_id
    summary = ok(admin.get("/flows"))["items"][0]
    assert summary["published_version"] == 1 and summary["unpublished_changes"] is False

    # the draft now holds the tree as stored (defaults filled in); the same tree with the
    # defaults left out again is no change, another node is
    assert ok(admin.get("/flows/application"))["nodes"] != policy(desk)
    ok(admin.put("/flows/application", json={"nodes": policy(desk)}))
    assert ok(admin.get("/flows"))["items"][0]["unpublished_changes"] is False
    same = admin.post("/flows/application/publish", json={})  # nothing to publish
    assert same.status_code == 409
    assert same.get_json()["message"] == "Nothing changed since version 1."
    changed = [*policy(desk), {"id": "end", "type": "end", "outcome": "approved"}]
    ok(admin.put("/flows/application", json={"nodes": changed}))
    assert ok(admin.get("/flows"))["items"][0]["unpublished_changes"] is True
    ok(admin.post("/flows/application/publish", json={}), 201)
    ok(admin.put("/flows/application", json={"name": "新名字", "nodes": changed}))
    assert ok(admin.get("/flows"))["items"][0]["unpublished_changes"] is True  # the name
    ok(admin.post("/flows/application/publish", json={"note": "改名"}), 201)

    page = ok(admin.get("/flows/application/versions?per_page=2"))
    assert page["total"] == 3 and page["page"] == 1 and page["per_page"] == 2
    assert [(v["number"], v["in_force"]) for v in page["items"]] == [(3, True), (2, False)]
    last = ok(admin.get("/flows/application/versions?per_page=2&page=2"))
    assert [v["number"] for v in last["items"]] == [1]
    one = ok(admin.get("/flows/application/versions/1"))
    assert one["name"] == "借款申请审批" and one["in_force"] is False
    assert [n["id"] for n in one["nodes"]] == ["by_amount", "cc"]
    assert one["nodes"][0]["branches"][1]["nodes"][0]["mode"] == "any"  # as stored
    assert ok(admin.get("/flows/application/versions/3"))["name"] == "新名字"
    assert admin.get("/flows/application/versions/4").status_code == 404
    assert admin.get("/flows/application/versions?per_page=101").status_code == 422


def test_publishing_a_note_too_long_or_no_draft(desk: Desk, admin: ApiClient) -> None:
    assert admin.post("/flows/application/publish", json={}).status_code == 404
    ok(admin.put("/flows/application", json={"nodes": policy(desk)}))
    refused = admin.post("/flows/application/publish", json={"note": "x" * 201})
    assert refused.status_code == 422 and "note" in refused.get_json()["errors"]


def test_test_run_shows_the_path_people_and_outcome(
    desk: Desk, admin: ApiClient, api_a: ApiClient
) -> None:
    ok(admin.put("/flows/application", json={"nodes": policy(desk)}))
    officer = desk.firm.staff["officer1"].user_id
    body = {"values": {"amount": "80000.00"}, "submitter_id": officer}
    run = ok(admin.post("/flows/application/test-run", json=body))
    assert run["outcome"] == "approved"
    stops = [(s["node_id"], s["branch_id"], s["branch_name"]) for s in run["stops"]]
    assert stops == [
        ("by_amount", "large", "大额"),
        ("credit_and", None, None),
        ("risk", None, None),
        ("cc", None, None),
    ]
    assert [u["name"] for u in run["stops"][1]["users"]] == ["a", "b"]
    assert [u["name"] for u in run["stops"][2]["users"]] == ["risk"]
    # the submitter's manager: officer1 is in 一组, which has no head; nobody is copied
    assert run["stops"][3]["users"] == [] and run["stops"][3]["note"] == ""

    small = ok(admin.post("/flows/application/test-run", json={"values": {"amount": "49999.99"}}))
    assert [s["node_id"] for s in small["stops"]] == ["by_amount", "credit_or", "cc"]

    # a tree given instead of the draft: with the only collector deactivated, nobody
    # resolves, so the node goes to the admins
    nodes = [approver("lone", [], when_empty="admin")]
    nodes[0]["assignees"] = [{"kind": "role", "role": "collector"}]
    given = {"values": {}, "nodes": nodes}
    ok(api_a.delete(f"/users/{desk.firm.staff['collector'].user_id}"))
    lone = ok(admin.post("/flows/application/test-run", json=given))["stops"][0]
    assert lone["note"] == "admin" and [u["id"] for u in lone["users"]] == [
        desk.firm.tenant.admin_user_id
    ]


def test_test_run_refuses_bad_trees_and_values(desk: Desk, admin: ApiClient) -> None:
    bad_tree = admin.post(
        "/flows/application/test-run", json={"nodes": [{"id": "n1", "type": "approver"}]}
    )
    assert bad_tree.status_code == 422
    assert bad_tree.get_json()["errors"] == {"n1": ["Choose who this node goes to."]}
    ok(admin.put("/flows/application", json={"nodes": policy(desk)}))
    values = {"values": {"amount": "lots", "nope": "1"}}
    bad_values = admin.post("/flows/application/test-run", json=values)
    assert bad_values.status_code == 422
    assert set(bad_values.get_json()["errors"]) == {"values.amount", "values.nope"}
    # a client acting for nobody must name the submitter
    nobody = client_for(desk.app, desk.firm.tenant, None, ("flows:read",))
    anonymous = nobody.post("/flows/application/test-run", json={"values": {}})
    assert anonymous.status_code == 422 and "submitter_id" in anonymous.get_json()["errors"]
    assert ok(nobody.get("/flows"))["items"][0]["record_type"] == "application"


def test_changing_flows_needs_flows_manage_and_the_write_scope(
    desk: Desk, admin: ApiClient
) -> None:
    ok(admin.put("/flows/application", json={"nodes": policy(desk)}))
    officer = staff(desk, "officer1")  # a credit officer: no flows.manage
    for path, body in (
        ("/flows/application", {"nodes": []}),
        ("/flows/application/publish", {}),
    ):
        call = officer.put if path == "/flows/application" else officer.post
        refused = call(path, json=body)
        assert refused.status_code == 403, refused.get_json()
        assert "flows.manage" in refused.get_json()["message"]
    assert ok(officer.get("/flows/application"))["nodes"] == policy(desk)  # reading is open

    reader = staff(desk, "admin", ("flows:read",))
    refused = reader.put("/flows/application", json={"nodes": []})
    assert refused.status_code == 403 and refused.get_json()["code"] == "insufficient_scope"
    nobody = client_for(desk.app, desk.firm.tenant, None, ("flows:write",))
    assert nobody.put("/flows/application", json={"nodes": []}).status_code == 403
    assert ok(admin.get("/flows/application"))["nodes"] == policy(desk)


def test_another_tenant_sees_only_its_own_flows(
    desk: Desk, admin: ApiClient, api_b: ApiClient, tenant_b: TenantFixture
) -> None:
    ok(admin.put("/flows/application", json={"nodes": policy(desk)}))
    ok(admin.post("/flows/application/publish", json={}), 201)
    other = client_for(desk.app, tenant_b, tenant_b.admin_user_id, ("flows:read", "flows:write"))
    assert other.get("/flows/application").status_code == 404  # intake is off in B
    ok(api_b.put("/plugins/customers", json={"enabled": True}))
    ok(api_b.put("/plugins/intake", json={"enabled": True}))
    theirs = ok(other.get("/flows/application"))
    assert theirs["nodes"] == [] and theirs["published_version"] is None
    assert ok(other.get("/flows/application/versions"))["total"] == 0
