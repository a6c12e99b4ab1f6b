"""Decisions at submission, through the real intake API and approval flow: the decision is
stored with every input, hit and score; the flow branches on ``risk_outcome`` before its
first condition; a new version decides only what is submitted after it (acceptance, issue 9);
without a published rule set nothing changes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Uuid, bindparam, text

from tests.helpers import ApiClient
from tests.platform.flows.conftest import Desk, approver
from tests.plugins.customers.conftest import Firm, audit_events
from tests.plugins.risk.conftest import OUTCOME_FIELD, SCORECARD, publish, rule

BIG = rule("big", "amount > 100000", "reject")
LONG = rule("long", "term_months > 24", "refer")


@pytest.fixture
def desk(risk: Firm, app: Flask) -> Desk:
    return Desk(app, risk)


def _submit(desk: Desk, amount: str, term: int = 12, by: str = "officer1", **custom: Any) -> str:
    api = desk.firm.staff[by].api
    body = {"customer_id": desk.customer_of(by), "amount": amount, "term_months": term, **custom}
    created = api.post("/applications", json=body)
    assert created.status_code == 201, created.get_json()
    application_id = str(created.get_json()["id"])
    submitted = api.post(f"/applications/{application_id}/submit")
    assert submitted.status_code == 200, submitted.get_json()
    return application_id


def _decisions(api: ApiClient, application_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/risk/applications/{application_id}/decisions")
    assert response.status_code == 200, response.get_json()
    return list(response.get_json())


def test_the_decision_is_stored_with_inputs_hits_and_scores(desk: Desk, app: Flask) -> None:
    publish(desk.firm.staff["risk"].api, {"rules": [BIG, LONG], "scorecard": SCORECARD})
    application = _submit(desk, "150000.00", term=36)
    (decision,) = _decisions(desk.firm.staff["officer1"].api, application)
    assert decision["version_number"] == 1
    assert decision["outcome"] == "auto_reject"  # a reject beats a refer
    assert [(h["key"], h["outcome"], h["reason_code"]) for h in decision["hits"]] == [
        ("big", "reject", "R_BIG"),
        ("long", "refer", "R_LONG"),
    ]
    assert decision["inputs"] == {"amount": "150000.00", "term_months": 36}
    assert [(s["key"], s["bin"], s["points"]) for s in decision["scores"]] == [
        ("amount", "[100000, )", 0),
        ("term_months", "[13, )", 10),
    ]
    # 10 base + 0 + 10 = 20: grade C, which refers on its own
    assert (decision["total_score"], decision["grade"]) == (20, "C")
    assert (decision["suggested_limit"], decision["suggested_rate"]) == ("0.00", "0.240000")

    small = _submit(desk, "15000.00", term=12)
    (decision,) = _decisions(desk.firm.staff["officer1"].api, small)
    assert (decision["outcome"], decision["hits"], decision["total_score"]) == (
        "auto_approve",
        [],
        80,
    )
    assert (decision["grade"], decision["suggested_limit"]) == ("A", "80000.00")

    # the stored row, read with plain SQL: money in 分, the rate in millionths
    with desk.session() as session:
        row = session.execute(
            text(
                "select outcome, total_score, suggested_limit, suggested_rate, version_number "
                "from risk_decisions where record_id = :id"
            ).bindparams(bindparam("id", type_=Uuid)),
            {"id": uuid.UUID(small)},
        ).one()
    assert tuple(row) == ("auto_approve", 80, 8000000, 85000, 1)
    assert len(audit_events(app, desk.firm, "risk.decide")) == 2


def test_the_flow_branches_on_the_risk_outcome(desk: Desk, api_a: ApiClient) -> None:
    assert api_a.post("/record-types/application/fields", json=OUTCOME_FIELD).status_code == 201
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    publish(desk.firm.staff["risk"].api, {"rules": [BIG, LONG]})
    desk.publish(
        [
            {"id": "auto", "type": "branch", "name": "自动审批", "branches": [
                {"id": "pass", "name": "自动通过", "condition": 'risk_outcome == "auto_approve"',
                 "nodes": [{"id": "ok", "type": "end", "name": "通过", "outcome": "approved"}]},
                {"id": "fail", "name": "自动拒绝", "condition": 'risk_outcome == "auto_reject"',
                 "nodes": [{"id": "no", "type": "end", "name": "拒绝", "outcome": "rejected"}]},
                {"id": "manual", "name": "人工复审", "default": True, "nodes": [
                    approver("review", [desk.user("risk")])]}]},
        ]
    )  # fmt: skip
    officer = desk.firm.staff["officer1"].api
    approved = _submit(desk, "50000.00")
    assert desk.status(approved) == "approved"
    assert officer.get(f"/applications/{approved}").get_json()["risk_outcome"] == "auto_approve"

    # an outcome typed in by the officer is replaced by the rules' own
    rejected = _submit(desk, "200000.00", risk_outcome="auto_approve")
    assert desk.status(rejected) == "rejected"
    assert officer.get(f"/applications/{rejected}").get_json()["risk_outcome"] == "auto_reject"

    referred = _submit(desk, "50000.00", term=36)
    assert desk.status(referred) == "submitted"
    assert desk.pending(desk.instance_of(referred)) == ("review", {"risk"})
    assert officer.get(f"/applications/{referred}").get_json()["risk_outcome"] == "refer"


def test_a_new_version_decides_only_later_applications(desk: Desk) -> None:
    """Acceptance: a rule-set edit changes decisions only for applications submitted after
    publishing; the stored decision of an old application shows the old version's hits."""
    manager, officer = desk.firm.staff["risk"].api, desk.firm.staff["officer1"].api
    publish(manager, {"rules": [rule("big", "amount > 100000", "refer")]}, note="v1")
    old = _submit(desk, "60000.00")
    old_big = _submit(desk, "120000.00")

    publish(manager, {"rules": [rule("mid", "amount > 50000", "reject")]}, note="v2")
    new = _submit(desk, "60000.00")

    (first,) = _decisions(officer, old)
    assert (first["version_number"], first["outcome"], first["hits"]) == (1, "auto_approve", [])
    (second,) = _decisions(officer, old_big)
    assert second["version_number"] == 1
    assert [(h["key"], h["outcome"]) for h in second["hits"]] == [("big", "refer")]
    (third,) = _decisions(officer, new)
    assert (third["version_number"], third["outcome"]) == (2, "auto_reject")
    assert [(h["key"], h["reason_code"]) for h in third["hits"]] == [("mid", "R_MID")]
    # reading again after v2 changes nothing of the old ones
    assert _decisions(officer, old_big) == [second]


def test_without_a_published_rule_set_nothing_is_decided(desk: Desk, api_a: ApiClient) -> None:
    desk.publish([approver("credit", [desk.user("risk")])])
    manager = desk.firm.staff["risk"].api
    manager.put("/risk/rule-sets/application/draft", json={"rules": [BIG]})  # a draft only
    application = _submit(desk, "200000.00")
    assert _decisions(desk.firm.staff["officer1"].api, application) == []
    assert desk.pending(desk.instance_of(application)) == ("credit", {"risk"})


def test_without_a_decision_a_typed_in_outcome_does_not_count(desk: Desk, api_a: ApiClient) -> None:
    assert api_a.post("/record-types/application/fields", json=OUTCOME_FIELD).status_code == 201
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    desk.publish(
        [
            {"id": "auto", "type": "branch", "name": "自动审批", "branches": [
                {"id": "pass", "name": "自动通过", "condition": 'risk_outcome == "auto_approve"',
                 "nodes": [{"id": "ok", "type": "end", "name": "通过", "outcome": "approved"}]},
                {"id": "manual", "name": "人工复审", "default": True, "nodes": [
                    approver("review", [desk.user("risk")])]}]},
        ]
    )  # fmt: skip
    application = _submit(desk, "50000.00", risk_outcome="auto_approve")
    assert desk.status(application) == "submitted"
    assert desk.pending(desk.instance_of(application)) == ("review", {"risk"})
    body = desk.firm.staff["officer1"].api.get(f"/applications/{application}").get_json()
    assert body["risk_outcome"] is None


def test_decisions_follow_the_applications_scope(desk: Desk) -> None:
    publish(desk.firm.staff["risk"].api, {"rules": [BIG]})
    application = _submit(desk, "1000.00")
    assert len(_decisions(desk.firm.staff["risk"].api, application)) == 1  # unit scope
    other = desk.firm.staff["officer3"].api  # another team's officer
    assert other.get(f"/risk/applications/{application}/decisions").status_code == 404


def test_an_application_an_automation_rule_submits_is_decided_too(desk: Desk) -> None:
    """The rule's "start the approval" action goes through the same submission: the risk
    plugin decides before the flow, as when staff submit."""
    from tests.platform.automations.conftest import deliver_and_run, save_rule

    publish(desk.firm.staff["risk"].api, {"rules": [BIG, LONG]})
    desk.publish(
        [{"id": "credit", "type": "approver", "name": "信审",
          "assignees": [{"kind": "user", "user": str(desk.user("risk"))}]}]
    )  # fmt: skip
    save_rule(
        desk,
        {
            "name": "新申请自动送审",
            "trigger": {"kind": "event", "event": "application.created"},
            "actions": [{"type": "start_flow"}],
        },
    )
    api = desk.firm.staff["officer1"].api
    body = {"customer_id": desk.customer_of("officer1"), "amount": "150000.00", "term_months": 12}
    created = api.post("/applications", json=body)
    assert created.status_code == 201, created.get_json()
    deliver_and_run(desk)
    application = str(created.get_json()["id"])
    (decision,) = _decisions(api, application)
    assert (decision["outcome"], [h["key"] for h in decision["hits"]]) == ("auto_reject", ["big"])
