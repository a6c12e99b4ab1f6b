"""A report counts its own tenant's records only, whatever the other tenants hold."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ApiClient, TenantFixture
from tests.platform.reports.conftest import SEED, Books, reports_client
from tests.plugins.customers.conftest import add_staff, new_customer


def test_another_tenants_applications_never_count(
    books: Books, app: Flask, client: FlaskClient, tenant_b: TenantFixture, api_b: ApiClient
) -> None:
    for plugin in ("customers", "intake"):
        assert api_b.put(f"/plugins/{plugin}", json={"enabled": True}).status_code == 200
    company = api_b.get("/org-units").get_json()["items"][0]["id"]
    officer = add_staff(app, client, tenant_b, "bofficer", ["credit_officer"], company)
    customer = new_customer(officer.api)["id"]
    for amount in ("5000.00", "6000.00"):
        created = officer.api.post(
            "/applications", json={"customer_id": customer, "amount": amount, "term_months": 6}
        )
        assert created.status_code == 201, created.get_json()

    spec = {"dataset": "intake.applications", "measures": ["count", "amount_sum"]}
    found = books.api["finance"].post("/reports/query", json=spec).get_json()["rows"]
    assert found[0]["count"] == len(SEED)
    theirs = reports_client(app, client, tenant_b.slug, tenant_b.id, officer.user_id)
    assert theirs.post("/reports/query", json=spec).get_json()["rows"] == [
        {"count": 2, "amount_sum": "11000.00"}
    ]
