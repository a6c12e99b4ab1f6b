"""The API tests' world: one app and tenant with every plugin enabled, an API client acting
for the tenant admin with every scope, and real records to name in paths."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import DatabaseUrls, suite_app, suite_settings
from tests.helpers import ApiClient, TenantFixture, fetch_token, make_tenant


@dataclass
class World:
    app: Flask
    token: str
    ids: dict[str, str] = field(default_factory=dict)
    tenant: TenantFixture | None = None  # its admin signs in to the web pages

    def api(self) -> ApiClient:
        return ApiClient(self.app.test_client(), self.token)


def _id_number(sequence: int) -> str:
    """A valid resident ID number (110105 19491231 and an order code)."""
    from stdnum.cn import ric

    head = f"11010519491231{(2 + 2 * sequence) % 1000:03d}"
    return head + ric.calc_check_digit(head + "0")  # it reads the first 17 characters


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.get_json()
    return dict(response.get_json())


# A tenant sends SMS through one gateway: these give the channel sms_aliyun gives.
OTHER_SMS_GATEWAYS = {"sms_http", "sms_tencent"}


def _enable_every_plugin(api: ApiClient) -> None:
    """Every plugin on but the other SMS gateways, dependencies first (a plugin whose
    dependency is off answers 409: try again after the others)."""
    waiting = [
        p["name"]
        for p in api.get("/plugins").get_json()
        if not p["enabled"] and p["name"] not in OTHER_SMS_GATEWAYS
    ]
    while waiting:
        answers = {n: api.put(f"/plugins/{n}", json={"enabled": True}) for n in waiting}
        refused = [n for n, answer in answers.items() if answer.status_code != 200]
        if len(refused) == len(waiting):
            why = {n: answers[n].get_json() for n in refused}
            raise AssertionError(f"plugins that would not enable: {why}")
        waiting = refused


def _seed(api: ApiClient, admin_user_id: str) -> dict[str, str]:
    """Real records for the ids in paths."""
    ids: dict[str, str] = {"user_id": admin_user_id, "record_type": "customer"}
    units = api.get("/org-units").get_json()["items"]
    ids["unit_id"] = _created(
        api.post("/org-units", json={"parent_id": units[0]["id"], "name": "一组", "kind": "team"})
    )["id"]
    customer = _created(
        api.post(
            "/customers",
            json={
                "name": "张三丰",
                "mobile": "13800138000",
                "id_number": _id_number(0),
                "monthly_income": "8500.00",
            },
        )
    )
    ids["customer_id"] = customer["id"]
    terms = {
        "min_amount": "1000.00",
        "max_amount": "50000.00",
        "min_periods": 3,
        "max_periods": 24,
        "annual_rate": "0.12",
        "frequency": "monthly",
        "method": "equal_installment",
    }
    product = _created(api.post("/products", json={"code": "P1", "name": "产品", "terms": terms}))
    ids["product_id"] = product["id"]
    loan = _created(
        api.post(
            "/loans",
            json={
                "customer_id": customer["id"],
                "product_id": product["id"],
                "principal": "12000.00",
                "periods": 12,
                "disbursed_on": "2025-01-15",
            },
        )
    )
    ids["loan_id"] = loan["id"]
    return ids


@pytest.fixture(scope="module")
def world(database_urls: DatabaseUrls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One app and tenant for the whole run (every operation would otherwise pay for an app,
    a sign-up and the records); the tables are emptied at the end like after any test."""
    from loandesk.auth import clients
    from loandesk.tenancy import service, use

    instance = Path(tmp_path_factory.mktemp("fuzz")) / "instance"
    with suite_app(suite_settings(database_urls, instance), database_urls) as app:
        tenant = make_tenant(app, "fuzz")
        web = app.test_client()
        _enable_every_plugin(ApiClient(web, tenant.token))
        ext = app.extensions["loandesk"]
        with app.app_context(), ext.db.transaction() as session:
            with use(service.get_by_slug(session, tenant.slug).ref()):
                new = clients.create_client(
                    session,
                    tenant_id=uuid.UUID(tenant.id),
                    name="schemathesis",
                    scopes=list(clients.SCOPES),
                    created_by_id=None,
                    acts_as_id=uuid.UUID(tenant.admin_user_id),
                )
                client_id, secret = new.client.client_id, new.client_secret
        token = fetch_token(web, client_id, secret).get_json()["access_token"]
        ids = _seed(ApiClient(web, token), tenant.admin_user_id)
        yield World(app, token, ids, tenant)
