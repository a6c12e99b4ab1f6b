"""Fixtures for the products plugin: tenant A with it enabled, a risk manager (who keeps
products), a credit officer (who reads them and quotes loans) and a collector (neither)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ApiClient, TenantFixture, csrf_from
from tests.plugins.customers.conftest import PASSWORD, Staff, add_staff

# a monthly annuity from 1,000 to 50,000 yuan over 3 to 24 months at 12% a year
TERMS: dict[str, Any] = {
    "min_amount": "1000.00",
    "max_amount": "50000.00",
    "min_periods": 3,
    "max_periods": 24,
    "annual_rate": "0.12",
    "frequency": "monthly",
    "method": "equal_installment",
}


@dataclass
class Shop:
    tenant: TenantFixture
    staff: dict[str, Staff]

    @property
    def risk(self) -> ApiClient:
        return self.staff["risk"].api

    @property
    def officer(self) -> ApiClient:
        return self.staff["officer"].api


def enable(api: ApiClient, **settings: Any) -> None:
    body: dict[str, Any] = {"enabled": True}
    if settings:
        body["settings"] = settings
    response = api.put("/plugins/products", json=body)
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def shop(app: Flask, client: FlaskClient, tenant_a: TenantFixture, api_a: ApiClient) -> Shop:
    enable(api_a)
    company = api_a.get("/org-units").get_json()["items"][0]["id"]
    people = {"risk": ["risk_manager"], "officer": ["credit_officer"], "collector": ["collector"]}
    staff = {
        name: add_staff(app, client, tenant_a, name, roles, company)
        for name, roles in people.items()
    }
    return Shop(tenant_a, staff)


def new_product(api: ApiClient, code: str = "XF01", **terms: Any) -> dict[str, Any]:
    body = {"code": code, "name": "工薪消费贷", "terms": {**TERMS, **terms}}
    response = api.post("/products", json=body)
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def browser(app: Flask, shop: Shop, name: str) -> FlaskClient:
    """A signed-in browser of staff member ``name``, pages in English."""
    web = app.test_client()
    login = f"/t/{shop.tenant.slug}/login"
    answer = web.post(
        login,
        data={
            "email": shop.staff[name].email,
            "password": PASSWORD,
            "csrf_token": csrf_from(web, login),
        },
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    with web.session_transaction() as state:
        state["locale"] = "en"  # assertions read the msgids
    return web
