# ruff: noqa: F811  (fixtures imported from the customers tests are used by name)
"""Fixtures for the risk plugin: the customers firm with intake and risk enabled, and rule
sets built from a few small pieces."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import ApiClient
from tests.plugins.customers.conftest import Firm, firm  # noqa: F401

OUTCOME_FIELD = {
    "key": "risk_outcome",
    "kind": "select",
    "label_zh": "风控结论",
    "label_en": "Risk outcome",
    "rules": {
        "options": [
            {"value": "auto_approve", "label_zh": "自动通过", "label_en": "Auto-approve"},
            {"value": "refer", "label_zh": "转人工", "label_en": "Refer"},
            {"value": "auto_reject", "label_zh": "自动拒绝", "label_en": "Auto-reject"},
        ]
    },
}


def rule(key: str, expression: str, outcome: str = "reject", **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name_zh": f"规则{key}",
        "name_en": f"Rule {key}",
        "expression": expression,
        "outcome": outcome,
        "reason_code": f"R_{key.upper()}",
        "reason_zh": f"原因{key}",
        "reason_en": f"Reason {key}",
        **extra,
    }


SCORECARD = {
    "base": 10,
    "variables": [
        {
            "key": "amount",
            "missing_points": 0,
            "bins": [
                {"min": None, "max": "20000", "points": 40},
                {"min": "20000", "max": "100000", "points": 20},
                {"min": "100000", "max": None, "points": 0},
            ],
        },
        {
            "key": "term_months",
            "bins": [
                {"min": "1", "max": "13", "points": 30},
                {"min": "13", "max": None, "points": 10},
            ],
        },
    ],
    "grades": [
        {"grade": "A", "min_score": 70, "limit": "80000.00", "rate": "0.0850"},
        {"grade": "B", "min_score": 40, "limit": "30000.00", "rate": "0.1500"},
        {"grade": "C", "min_score": 0, "limit": "0.00", "rate": "0.2400", "outcome": "refer"},
    ],
}


@pytest.fixture
def risk(firm: Firm, api_a: ApiClient) -> Firm:
    """Tenant A's firm with intake and risk enabled (customers already is)."""
    for plugin in ("intake", "risk"):
        response = api_a.put(f"/plugins/{plugin}", json={"enabled": True})
        assert response.status_code == 200, response.get_json()
    return firm


def publish(api: ApiClient, definition: dict[str, Any], note: str = "") -> int:
    """Save ``definition`` as the draft and publish it; the version's number."""
    saved = api.put("/risk/rule-sets/application/draft", json=definition)
    assert saved.status_code == 200, saved.get_json()
    published = api.post("/risk/rule-sets/application/publish", json={"note": note})
    assert published.status_code == 201, published.get_json()
    return int(published.get_json()["number"])


def auto_flow(desk: Any, reviewer: str = "risk") -> None:
    """Publish the application form with ``risk_outcome`` and a flow that approves and
    rejects on the automatic decision and sends everything else to ``reviewer``."""
    from tests.platform.flows.conftest import approver

    desk.publish(
        [
            {"id": "auto", "type": "branch", "name": "自动审批", "branches": [
                {"id": "pass", "name": "自动通过", "condition": 'risk_outcome == "auto_approve"',
                 "nodes": [{"id": "ok", "type": "end", "name": "通过", "outcome": "approved"}]},
                {"id": "fail", "name": "自动拒绝", "condition": 'risk_outcome == "auto_reject"',
                 "nodes": [{"id": "no", "type": "end", "name": "拒绝", "outcome": "rejected"}]},
                {"id": "manual", "name": "人工复审", "default": True, "nodes": [
                    approver("review", [desk.user(reviewer)])]}]},
        ]
    )  # fmt: skip


def submit(desk: Any, amount: str, term: int = 12, by: str = "officer1", **more: Any) -> str:
    """A new application of ``by``'s customer (or ``customer_id``), submitted: its id."""
    api = desk.firm.staff[by].api
    body = {"customer_id": desk.customer_of(by), "amount": amount, "term_months": term, **more}
    created = api.post("/applications", json=body)
    assert created.status_code == 201, created.get_json()
    application_id = str(created.get_json()["id"])
    submitted = api.post(f"/applications/{application_id}/submit")
    assert submitted.status_code == 200, submitted.get_json()
    return application_id


def decisions(api: ApiClient, application_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/risk/applications/{application_id}/decisions")
    assert response.status_code == 200, response.get_json()
    return list(response.get_json())
