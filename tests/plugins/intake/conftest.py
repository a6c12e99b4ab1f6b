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


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def new_product(api: ApiClient, **values: Any) -> dict[str, Any]:
    """A product (by the risk manager, who holds ``intake.products``)."""
    body = {
        "code": "XF01",
        "name": "工薪消费贷",
        "min_amount": "1000.00",
        "max_amount": "200000.00",
        "min_term_months": 3,
        "max_term_months": 36,
        "required_documents": ["id_front", "id_back", "income_proof"],
        **values,
    }
    response = api.post("/applications/products", json=body)
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def upload(api: ApiClient, application_id: str, kind: str, data: bytes = PNG) -> Any:
    import io

    name = "scan.png" if data.startswith(b"\x89PNG") else "scan.pdf"
    return api.post(
        f"/applications/{application_id}/documents",
        data={"kind": kind, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def publish_flow(app: Any, firm: Firm, *approvers: str) -> None:
    """Publish an application flow of one approver node per staff member named, in order."""
    import uuid

    from loandesk.fields.forms import published_form
    from loandesk.flows import definitions
    from loandesk.plugins import runtime
    from tests.helpers import tenant_session

    nodes = [
        {
            "id": f"n{i}",
            "type": "approver",
            "name": f"n{i}",
            "assignees": [{"kind": "user", "user": str(uuid.UUID(firm.staff[n].user_id))}],
        }
        for i, n in enumerate(approvers)
    ]
    with tenant_session(app, firm.tenant.slug) as session:
        declared = runtime.record_type("application")
        form = published_form(session, declared)
        _row, problems = definitions.save_draft(session, declared, form, {"nodes": nodes})
        assert problems == {}
        definitions.publish(session, declared, form, note="test")
