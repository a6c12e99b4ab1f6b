"""Editing and publishing rule sets through the API: each problem is refused with its place
named, versions are numbered and immutable, every change is audited, only risk managers
manage rules, and one tenant's rules are not another's."""

from __future__ import annotations

import copy

from tests.helpers import ApiClient, TenantFixture
from tests.plugins.customers.conftest import Firm, audit_events
from tests.plugins.risk.conftest import SCORECARD, publish, rule

DRAFT = "/risk/rule-sets/application/draft"


def test_bad_rules_are_refused_naming_each_place(risk: Firm) -> None:
    manager = risk.staff["risk"].api
    rules = [
        rule("young", "amount > 1000"),
        rule("unknown", "salary > 3"),
        rule("young", "amount >"),
        {**rule("odd", "term_months > 12"), "outcome": "maybe", "reason_zh": ""},
    ]
    response = manager.put(DRAFT, json={"rules": rules}, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert sorted(errors) == [
        "rules.1.expression",
        "rules.2.expression",
        "rules.2.key",
        "rules.3.outcome",
        "rules.3.reason_zh",
    ]
    assert errors["rules.1.expression"] == ["No field is called salary."]
    chinese = manager.put(DRAFT, json={"rules": rules[:2]}, headers={"Accept-Language": "zh-CN"})
    assert chinese.get_json()["errors"]["rules.1.expression"][0] != "No field is called salary."
    # nothing was saved
    assert manager.get(DRAFT).get_json()["rules"] == []


def test_scorecard_bins_and_money_are_checked(risk: Firm) -> None:
    manager = risk.staff["risk"].api
    card = copy.deepcopy(SCORECARD)
    card["variables"][0]["bins"][1]["min"] = "25000"  # a gap after the first bin
    card["variables"][1]["key"] = "customer_id"  # not a number
    card["grades"][0]["limit"] = 80000.5  # a float
    card["grades"][1]["rate"] = "0.15001234"  # more than 6 places
    card["grades"][2]["min_score"] = 40  # two bands start at 40
    response = manager.put(DRAFT, json={"rules": [], "scorecard": card})
    assert response.status_code == 422
    assert sorted(response.get_json()["errors"]) == [
        "scorecard.grades.0.limit",
        "scorecard.grades.1.rate",
        "scorecard.grades.2.min_score",
        "scorecard.variables.0.bins.1.min",
        "scorecard.variables.1.key",
    ]
    overlap = copy.deepcopy(SCORECARD)
    overlap["variables"][1]["bins"][1]["min"] = "12"
    response = manager.put(DRAFT, json={"scorecard": overlap})
    assert list(response.get_json()["errors"]) == ["scorecard.variables.1.bins.1.min"]
    fine = manager.put(
        DRAFT, json={"rules": [rule("big", "amount > 100000")], "scorecard": SCORECARD}
    )
    assert fine.status_code == 200, fine.get_json()
    assert fine.get_json()["scorecard"]["grades"][0]["limit"] == "80000.00"


def test_publishing_numbers_frozen_versions_and_is_audited(risk: Firm, app: object) -> None:
    manager = risk.staff["risk"].api
    assert publish(manager, {"rules": [rule("big", "amount > 100000")]}, note="first") == 1
    assert publish(manager, {"rules": [rule("big", "amount > 50000")]}, note="tighter") == 2
    # editing the draft afterwards changes no version
    manager.put(DRAFT, json={"rules": [rule("big", "amount > 1")]})
    versions = manager.get("/risk/rule-sets/application/versions").get_json()
    assert [(v["number"], v["note"]) for v in versions] == [(2, "tighter"), (1, "first")]
    first = manager.get("/risk/rule-sets/application/versions/1").get_json()
    assert first["definition"]["rules"][0]["expression"] == "amount > 100000"
    assert first["published_by_id"] == risk.staff["risk"].user_id
    assert manager.get(DRAFT).get_json()["published"] == 2
    assert manager.get("/risk/rule-sets/application/versions/3").status_code == 404

    saves = audit_events(app, risk, "risk.rule_set.save")  # type: ignore[arg-type]
    assert len(saves) == 3
    assert saves[-1].diff["rules"][1][0]["expression"] == "amount > 1"
    publishes = audit_events(app, risk, "risk.rule_set.publish")  # type: ignore[arg-type]
    assert [e.diff["version"][1] for e in publishes] == [1, 2]


def test_only_risk_managers_manage_rules(risk: Firm) -> None:
    officer = risk.staff["officer1"].api
    assert officer.get(DRAFT).status_code == 403
    assert officer.put(DRAFT, json={"rules": []}).status_code == 403
    assert officer.post("/risk/rule-sets/application/publish", json={}).status_code == 403
    assert officer.get("/risk/rule-sets/application/versions").status_code == 403
    assert risk.staff["risk"].api.get("/risk/rule-sets/loan/draft").status_code == 404


def test_another_tenant_sees_none_of_the_rules(
    risk: Firm, tenant_b: TenantFixture, api_b: ApiClient
) -> None:
    publish(risk.staff["risk"].api, {"rules": [rule("big", "amount > 100000")]})
    # tenant B without the plugin: no such resource
    assert api_b.get(DRAFT).status_code == 404
    for plugin in ("customers", "intake", "risk"):
        assert api_b.put(f"/plugins/{plugin}", json={"enabled": True}).status_code == 200
    from tests.plugins.customers.conftest import add_staff

    other = add_staff(
        api_b.client.application, api_b.client, tenant_b, "riskb", ["risk_manager"],
        api_b.get("/org-units").get_json()["items"][0]["id"],
    )  # fmt: skip
    assert other.api.get(DRAFT).get_json()["rules"] == []
    assert other.api.get("/risk/rule-sets/application/versions").get_json() == []
    assert other.api.get("/risk/rule-sets/application/versions/1").status_code == 404
