# ruff: noqa: F811  (fixtures imported from the customers tests are used by name)
"""Fixtures for the intake plugin: the customers firm with intake enabled, and an application
form with a required select and a conditional field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import ApiClient
from tests.plugins.customers.conftest import Firm, firm  # noqa: F401

PURPOSE = {
    "key": "loan_purpose",
    "kind": "select",
    "label_zh": "借款用途",
    "label_en": "Loan purpose",
    "required": True,
    "rules": {
        "options": [
            {"value": "car", "label_zh": "购车", "label_en": "Car"},
            {"value": "house", "label_zh": "装修", "label_en": "Home improvement"},
            {"value": "consumption", "label_zh": "日常消费", "label_en": "Consumption"},
        ]
    },
}
CAR_MODEL = {
    "key": "car_model",
    "kind": "text",
    "label_zh": "车辆型号",
    "label_en": "Car model",
    "required": True,
    "condition": 'loan_purpose == "car"',
    "rules": {"max_length": 60},
}


@pytest.fixture
def intake(firm: Firm, api_a: ApiClient) -> Firm:
    """Tenant A's firm with intake enabled (customers already is)."""
    response = api_a.put("/plugins/intake", json={"enabled": True})
    assert response.status_code == 200, response.get_json()
    return firm


def define(api: ApiClient, *fields: dict[str, Any], record_type: str = "application") -> int:
    """Define ``fields`` and publish the form; the new version's number."""
    for definition in fields:
        response = api.post(f"/record-types/{record_type}/fields", json=definition)
        assert response.status_code == 201, response.get_json()
    published = api.post(f"/record-types/{record_type}/form/publish", json={"note": "test"})
    assert published.status_code == 201, published.get_json()
    return int(published.get_json()["number"])


@pytest.fixture
def purpose_form(intake: Firm, api_a: ApiClient) -> Firm:
    define(api_a, PURPOSE, CAR_MODEL)
    return intake
