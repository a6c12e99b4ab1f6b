"""Acceptance (issue 7, points 1, 2, 4 through the API): a rule configured through the API —
"when an application is approved, a to-do for the post-loan admins" — fires exactly once per
approval with its rendered text; problems are 422 keyed by where; the run log, retries, dry
runs, the catalog, enabling and who may."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.helpers import ApiClient
from tests.platform.automations.conftest import deliver_and_run, run_job
from tests.platform.flows.api_helpers import client_for, ok, staff
from tests.platform.flows.conftest import Desk

SCOPES = ("automations:read", "automations:write", "records:read")
RULE = {
    "name": "批准后提醒签约",
    "record_type": "application",
    "trigger": {"kind": "event", "event": "application.approved"},
    "condition": "amount >= 10000",
    "actions": [
        {
            "type": "create_todo",
            "title": "{{ title }} 已批准，请联系客户签约（{{ amount }} 元）",
            "assignee": {"kind": "role", "role": "post_loan_admin"},
            "due": {"days": 1, "at": "18:00"},
        }
    ],
}


def _admin(desk: Desk) -> ApiClient:
    return staff(desk, "admin", SCOPES)


def test_the_seed_rule_through_the_api_fires_once_per_approval(shop: Desk) -> None:
    from loandesk.todos.models import Todo

    admin = _admin(shop)
    rule = ok(admin.post("/automations", json=RULE), 201)
    assert rule["version"] == 1 and rule["enabled"] is True
    application, instance = shop.submit("80000")
    shop.act("approve", "a", instance)
    deliver_and_run(shop)
    deliver_and_run(shop)  # a second worker pass changes nothing
    number = (
        shop.firm.staff["officer1"].api.get(f"/applications/{application}").get_json()["number"]
    )
    with shop.session() as session:
        titles = [t.title for t in session.scalars(select(Todo))]
    assert titles == [f"{number} 已批准，请联系客户签约（80000.00 元）"]
    runs = ok(admin.get(f"/automations/{rule['id']}/runs"))
    assert runs["total"] == 1
    assert runs["items"][0]["state"] == "done" and runs["items"][0]["record_id"] == application
    assert runs["items"][0]["results"][0]["title"] == titles[0]


def test_problems_are_refused_saying_where(shop: Desk) -> None:
    admin = _admin(shop)
    bad = {
        **RULE,
        "condition": "amount >>= 1",
        "actions": [{**RULE["actions"][0], "title": "{{ customer_nmae }} 签约"}],
    }
    refused = admin.post("/automations", json=bad, headers={"Accept-Language": "en"})
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]
    assert set(errors) == {"condition", "actions.0.title"}
    assert errors["actions.0.title"] == [
        "The template names customer_nmae, which are not fields of this record."
    ]
    chinese = admin.post("/automations", json=bad, headers={"Accept-Language": "zh-CN"})
    assert chinese.get_json()["errors"]["actions.0.title"] == [
        "模板引用了 customer_nmae，它们不是此记录的字段。"
    ]
    assert admin.get("/automations").get_json()["total"] == 0  # nothing was saved


def test_catalog_dry_run_enable_and_delete(shop: Desk) -> None:
    admin = _admin(shop)
    catalog = ok(admin.get("/automations/catalog?record_type=application"))
    events = [e["key"] for e in catalog["events"]]
    assert "application.approved" in events and "flow.finished" in events
    assert "customer.created" not in events
    assert {"create_todo", "set_field"} <= {a["key"] for a in catalog["actions"]}
    assert catalog["fields"]["amount"] == "money" and "created_at" in catalog["date_fields"]

    rule = ok(admin.post("/automations", json=RULE), 201)
    application, _instance = shop.submit("80000")
    small, _other = shop.submit("5000")
    preview = ok(admin.post(f"/automations/{rule['id']}/dry-run", json={"record_id": application}))
    assert preview["holds"] is True
    assert preview["actions"][0]["title"].endswith("已批准，请联系客户签约（80000.00 元）")
    assert (
        ok(admin.post(f"/automations/{rule['id']}/dry-run", json={"record_id": small}))["holds"]
        is False
    )

    assert (
        ok(admin.patch(f"/automations/{rule['id']}", json={"enabled": False}))["enabled"] is False
    )
    changed = ok(admin.put(f"/automations/{rule['id']}", json={**RULE, "condition": ""}))
    assert changed["version"] == 2 and changed["condition"] == ""
    assert admin.delete(f"/automations/{rule['id']}").status_code == 204  # it never ran
    assert admin.get(f"/automations/{rule['id']}").status_code == 404


def test_a_rule_that_ran_is_disabled_not_deleted_and_failed_runs_are_retried(
    shop: Desk, api_a: Any
) -> None:
    from loandesk.automations import engine
    from loandesk.automations.models import RuleFiring

    admin = _admin(shop)
    rule = ok(
        admin.post(
            "/automations",
            json={**RULE, "actions": [{"type": "set_field", "field": "stage", "value": "signing"}]},
        ),
        201,
    )
    assert api_a.delete("/record-types/application/fields/stage").status_code == 204
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    _application, instance = shop.submit("80000")
    shop.act("approve", "a", instance)
    deliver_and_run(shop)
    with shop.session() as session:  # as if every attempt had failed
        firing = session.scalar(select(RuleFiring))
        assert firing is not None
        firing.attempts = engine.MAX_ATTEMPTS - 1
        firing.next_attempt_at = None
    run_job(shop, "core.run_firings")
    [failed] = ok(admin.get(f"/automations/{rule['id']}/runs?state=failed"))["items"]
    assert "can no longer be set" in failed["last_error"]
    assert admin.delete(f"/automations/{rule['id']}").status_code == 409

    assert api_a.post("/record-types/application/fields/stage/restore").status_code == 200
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    retried = ok(admin.post(f"/automations/runs/{failed['id']}/retry"))
    assert retried["state"] == "pending"
    assert admin.post(f"/automations/runs/{failed['id']}/retry").status_code == 409
    run_job(shop, "core.run_firings")
    assert ok(admin.get(f"/automations/{rule['id']}/runs"))["items"][0]["state"] == "done"


def test_who_may(shop: Desk, api_b: ApiClient) -> None:
    rule = ok(_admin(shop).post("/automations", json=RULE), 201)
    officer = staff(shop, "officer1", SCOPES)
    assert officer.get("/automations").status_code == 200  # reading needs the scope only
    assert officer.post("/automations", json={**RULE, "name": "x"}).status_code == 403
    reader = client_for(shop.app, shop.firm.tenant, shop.firm.tenant.admin_user_id,
                        ("automations:read",))  # fmt: skip
    assert reader.post("/automations", json={**RULE, "name": "y"}).status_code == 403
    # another tenant sees nothing of it
    assert api_b.get(f"/automations/{rule['id']}").status_code == 404
    assert ok(api_b.get("/automations"))["total"] == 0
