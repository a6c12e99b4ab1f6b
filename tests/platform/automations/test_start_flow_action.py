"""The ``start_flow`` action (issue 7): a rule puts a new application into approval with the
published flow, its owner as the submitter and the rule named on the timeline, the system
acting; a second firing or a redelivered event never starts a second approval; a record whose
approval finished approved is left alone, one withdrawn may start again; a required field left
empty fails the run. Saving refuses it on record types without approval (the catalog does not
offer it there) and while no flow is published."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from tests.platform.automations.conftest import deliver_and_run, run_job, save_rule
from tests.platform.flows.api_helpers import ok, staff
from tests.platform.flows.conftest import Desk

SCOPES = ("automations:read", "automations:write", "records:read")
START = {
    "name": "新申请自动送审",
    "trigger": {"kind": "event", "event": "application.created"},
    "actions": [{"type": "start_flow"}],
}
PURPOSE = {
    "key": "loan_purpose",
    "kind": "text",
    "label_zh": "借款用途",
    "label_en": "Loan purpose",
    "required": True,
}


def draft(desk: Desk, amount: str = "80000", **custom: Any) -> str:
    """A new application saved (not submitted) by officer 1: its id."""
    api = desk.firm.staff["officer1"].api
    body = {"customer_id": desk.customer, "amount": amount, "term_months": 12, **custom}
    return str(ok(api.post("/applications", json=body), 201)["id"])


def approvals(desk: Desk, application: str) -> list[Any]:
    from loandesk.flows.models import FlowInstance

    with desk.session() as session:
        rows = session.scalars(
            select(FlowInstance)
            .where(FlowInstance.record_id == application)
            .order_by(FlowInstance.started_at)
        )
        return [(i.id, i.state, i.submitter_id) for i in rows]


def results(desk: Desk, rule_id: uuid.UUID) -> list[Any]:
    from loandesk.automations.models import RuleFiring

    with desk.session() as session:
        query = select(RuleFiring).where(RuleFiring.rule_id == rule_id)
        return [(f.state, f.results, f.last_error) for f in session.scalars(query)]


def test_a_new_application_goes_into_approval_once(shop: Desk) -> None:
    from loandesk.audit.models import AuditEvent
    from loandesk.events import OutboxEvent
    from loandesk.flows.models import FlowAction

    first = save_rule(shop, START)
    second = save_rule(shop, {**START, "name": "新申请再次送审"})  # a second firing
    application = draft(shop)
    deliver_and_run(shop)

    [(instance, state, submitter)] = approvals(shop, application)
    assert (state, submitter) == ("running", shop.user("officer1"))  # the owner submits
    assert shop.status(application) == "submitted"
    assert shop.pending(instance) == ("credit", {"a"})
    with shop.session() as session:  # submitted as if by hand: its time and its event
        submitted = session.scalars(
            select(OutboxEvent.record_id).where(OutboxEvent.name == "application.submitted")
        ).all()
        assert submitted == [application]
    assert (
        shop.firm.staff["officer1"]
        .api.get(f"/applications/{application}")
        .get_json()["submitted_at"]
    )
    both = [results(shop, first)[0], results(shop, second)[0]]
    started = ("done", [{"action": 0, "approval": str(instance), "state": "running"}], "")
    skipped = (
        "done",
        [{"action": 0, "skipped": "The record is already in approval.",
          "approval": str(instance)}],
        "",
    )  # fmt: skip
    assert sorted(both, key=str) == sorted([started, skipped], key=str)
    with shop.session() as session:
        entry = session.scalar(
            select(FlowAction)
            .where(FlowAction.instance_id == instance)
            .order_by(FlowAction.created_at, FlowAction.id)
        )
        assert entry is not None
        assert (entry.action, entry.actor_id) == ("submitted", None)
        assert entry.detail["rule"] in (START["name"], "新申请再次送审")
        started_by = session.scalar(select(AuditEvent).where(AuditEvent.action == "flow.start"))
        assert started_by is not None and started_by.actor_kind == "system"

    # the creation delivered again, the runner run again: still one approval
    with shop.session() as session:
        for event in session.scalars(select(OutboxEvent)):
            event.delivered_at = None
    deliver_and_run(shop)
    run_job(shop, "core.run_firings")
    assert len(approvals(shop, application)) == 1
    assert len(results(shop, first)) == 1 and len(results(shop, second)) == 1


def test_the_timeline_names_the_rule(shop: Desk) -> None:
    from flask_babel import force_locale

    from loandesk.web.approvals import labels

    with shop.app.test_request_context():
        with force_locale("en"):
            text = labels.action("submitted", {"rule": "新申请自动送审"}, {}, {})
        assert text == "Submitted by the automation rule 新申请自动送审"
        with force_locale("zh_Hans_CN"):
            text = labels.action("submitted", {"rule": "新申请自动送审"}, {}, {})
        assert text == "由自动化规则「新申请自动送审」提交"
    save_rule(shop, START)
    application = draft(shop)
    deliver_and_run(shop)
    [(instance, _state, _submitter)] = approvals(shop, application)
    viewer = staff(shop, "a", ("approvals:read", "records:read"))
    timeline = ok(viewer.get(f"/approvals/{instance}"))["timeline"]
    assert timeline[0]["action"] == "submitted"
    assert timeline[0]["actor"] is None and timeline[0]["detail"] == {"rule": "新申请自动送审"}


def test_an_approved_record_is_left_alone_and_a_withdrawn_one_starts_again(shop: Desk) -> None:
    rule_id = save_rule(shop, {
        "name": "审批结束后重新送审",
        "trigger": {"kind": "event", "event": "flow.finished"},
        "actions": [{"type": "start_flow"}],
    })  # fmt: skip
    approved, instance = shop.submit("80000")
    shop.act("approve", "a", instance)
    deliver_and_run(shop)
    assert [a[1] for a in approvals(shop, approved)] == ["approved"]
    [(_state, [result], _error)] = results(shop, rule_id)
    assert result["skipped"] == "The record's approval has finished: approved."

    withdrawn, instance = shop.submit("60000")
    shop.act("withdraw", "officer1", instance)
    deliver_and_run(shop)
    assert [a[1] for a in approvals(shop, withdrawn)] == ["withdrawn", "running"]
    assert shop.status(withdrawn) == "submitted"


def test_a_required_field_left_empty_fails_the_run(shop: Desk, api_a: Any) -> None:
    rule_id = save_rule(shop, START)
    application = draft(shop)
    # the field is made required after the draft was saved, before the rule runs
    assert api_a.post("/record-types/application/fields", json=PURPOSE).status_code == 201
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    deliver_and_run(shop)
    [(state, _results, error)] = results(shop, rule_id)
    assert state == "pending" and error == "ValueError: required fields are empty: loan_purpose"
    assert approvals(shop, application) == []


def test_saving_needs_approval_and_a_published_flow(desk: Desk) -> None:
    admin = staff(desk, "admin", SCOPES)
    en = {"Accept-Language": "en"}
    catalog = ok(admin.get("/automations/catalog?record_type=application"))
    assert {"start_flow", "webhook"} <= {a["key"] for a in catalog["actions"]}
    customers = ok(admin.get("/automations/catalog?record_type=customer"))
    offered = {a["key"] for a in customers["actions"]}
    assert "start_flow" not in offered and "webhook" in offered

    unpublished = admin.post("/automations", json={"record_type": "application", **START},
                             headers=en)  # fmt: skip
    assert unpublished.status_code == 422
    assert unpublished.get_json()["errors"] == {
        "actions.0.flow": [
            "No approval flow is published for this record type yet: publish one in the flow "
            "designer first."
        ]
    }
    on_customers = {
        **START,
        "record_type": "customer",
        "trigger": {"kind": "event", "event": "customer.created"},
    }
    refused = admin.post("/automations", json=on_customers, headers=en)
    assert refused.get_json()["errors"] == {
        "actions.0": ["Rules on this record type cannot use this action."]
    }
    desk.publish([{"id": "credit", "type": "approver", "name": "信审",
                   "assignees": [{"kind": "user", "user": str(desk.user("a"))}]}])  # fmt: skip
    ok(admin.post("/automations", json={"record_type": "application", **START}), 201)


def test_the_dry_run_says_what_it_would_do(shop: Desk) -> None:
    from loandesk.auth.users import display_names

    admin = staff(shop, "admin", SCOPES)
    saved = ok(admin.post("/automations", json={"record_type": "application", **START}), 201)
    application = draft(shop)
    url = f"/automations/{saved['id']}/dry-run"
    en = {"Accept-Language": "en"}
    [action] = ok(admin.post(url, json={"record_id": application}, headers=en))["actions"]
    assert action["would"].startswith("Submit the record for approval with ")
    assert action["would"].endswith("(version 1).")
    with shop.session() as session:
        owner = display_names(session, [shop.user("officer1")])[shop.user("officer1")]
    assert action["submitter"] == owner
    assert approvals(shop, application) == []

    submitted, _instance = shop.submit("80000")
    [action] = ok(admin.post(url, json={"record_id": submitted}, headers=en))["actions"]
    assert action["skipped"] == "The record is already in approval."


def test_rules_with_both_actions_travel_in_the_bundle(
    shop: Desk, api_b: Any, tenant_b: Any, tmp_path: Any
) -> None:
    import yaml

    from tests.platform.automations.test_bundle_automations import EMAIL, rules
    from tests.platform.test_bundle import files, invite, run

    save_rule(shop, {
        **START, "actions": [{"type": "start_flow"},
                             {"type": "webhook", "url": "https://hooks.example.cn/loandesk"}],
    })  # fmt: skip
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(shop.app, "tenant", "export", shop.firm.tenant.slug, str(a)).exit_code == 0
    [exported] = yaml.safe_load((a / "automations.yaml").read_text("utf-8"))["rules"]
    assert exported["actions"] == [
        {"type": "start_flow"},
        {"type": "webhook", "url": "https://hooks.example.cn/loandesk"},
    ]
    assert "whsec_" not in "".join(p.read_text("utf-8") for p in a.rglob("*.yaml"))

    # tenant B gets the flow (applied before the rules, so start_flow finds it published)
    for email in sorted(
        {m for p in a.rglob("*.yaml") for m in EMAIL.findall(p.read_text("utf-8"))}
    ):
        invite(api_b, email)
    applied = run(shop.app, "tenant", "apply", str(a), "--tenant", tenant_b.slug)
    assert applied.exit_code == 0, applied.output
    assert rules(shop, tenant_b.slug)[START["name"]] == (1, True, "")
    assert run(shop.app, "tenant", "export", tenant_b.slug, str(b)).exit_code == 0
    assert files(a) == files(b)
