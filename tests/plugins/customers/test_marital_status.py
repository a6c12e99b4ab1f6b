"""The borrower's marital status (婚姻状况): one of four values, refused otherwise with nothing
changed, audited, filterable and shown by its Chinese label."""

from __future__ import annotations

from flask import Flask

from tests.helpers import csrf_from
from tests.plugins.customers.conftest import PASSWORD, Firm, audit_events, new_customer


def test_marital_status_is_one_of_four_and_audited(app: Flask, firm: Firm) -> None:
    officer = firm.staff["officer1"].api
    customer = new_customer(officer, marital_status="married")
    assert customer["marital_status"] == "married"

    refused = officer.patch(f"/customers/{customer['id']}", json={"marital_status": "single"})
    assert refused.status_code == 422
    assert list(refused.get_json()["errors"]) == ["marital_status"]
    assert officer.get(f"/customers/{customer['id']}").get_json()["marital_status"] == "married"

    changed = officer.patch(f"/customers/{customer['id']}", json={"marital_status": "divorced"})
    assert changed.status_code == 200, changed.get_json()
    (updated,) = audit_events(app, firm, "customer.update")
    assert updated.diff["marital_status"] == ["married", "divorced"]

    new_customer(officer, name="李雷", marital_status="unmarried")
    found = officer.get("/customers", query_string={"filter": "marital_status:eq:divorced"})
    assert [c["name"] for c in found.get_json()["items"]] == ["张三丰"]

    browser = app.test_client()
    login = f"/t/{firm.tenant.slug}/login"
    staff = firm.staff["officer1"]
    browser.post(
        login,
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_from(browser, login)},
    )
    page = browser.get(f"/t/{firm.tenant.slug}/customers/{customer['id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "婚姻状况" in html and "离异" in html
