"""Products (贷款产品): who may keep them, how they are checked, and that an application's
amount and term must fit its product (422 naming the field)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.plugins.customers.conftest import Firm, audit_events, new_customer
from tests.plugins.intake.conftest import new_product


def test_risk_managers_keep_products_officers_only_read_them(intake: Firm, app: Flask) -> None:
    risk, officer = intake.staff["risk"].api, intake.staff["officer1"].api
    body = {
        "code": "A1",
        "name": "车贷",
        "min_amount": "1000",
        "max_amount": "90000",
        "min_term_months": 6,
        "max_term_months": 24,
    }
    assert officer.post("/applications/products", json=body).status_code == 403

    wrong = risk.post(
        "/applications/products",
        json={**body, "max_term_months": 400, "required_documents": ["x"]},
    )
    assert wrong.status_code == 422
    assert sorted(wrong.get_json()["errors"]) == ["max_term_months", "required_documents"]
    upside_down = risk.post("/applications/products", json={**body, "max_amount": "500"})
    assert upside_down.status_code == 422
    assert list(upside_down.get_json()["errors"]) == ["max_amount"]

    product = new_product(risk, code="A1", required_documents=["income_proof", "id_front"])
    assert product["required_documents"] == ["id_front", "income_proof"]  # in the kinds' order
    assert product["min_amount"] == "1000.00" and product["active"] is True
    again = risk.post("/applications/products", json={**body, "code": "A1"})
    assert again.status_code == 422 and list(again.get_json()["errors"]) == ["code"]

    listed = officer.get("/applications/products").get_json()
    assert [p["code"] for p in listed["items"]] == ["A1"] and listed["total"] == 1
    changed = risk.patch(f"/applications/products/{product['id']}", json={"active": False})
    assert changed.status_code == 200 and changed.get_json()["active"] is False
    assert changed.get_json()["max_amount"] == "200000.00"  # what was not given stays
    assert officer.get("/applications/products?active=true").get_json()["total"] == 0
    assert [e.diff for e in audit_events(app, intake, "intake.product.update")] == [
        {"active": [True, False]}
    ]


def test_an_applications_amount_and_term_must_fit_its_product(intake: Firm) -> None:
    product = new_product(intake.staff["risk"].api)
    officer = intake.staff["officer1"].api
    customer = new_customer(officer)["id"]
    base = {"customer_id": customer, "product_id": product["id"]}

    too_much = officer.post(
        "/applications", json={**base, "amount": "250000.00", "term_months": 12}
    )
    assert too_much.status_code == 422 and list(too_much.get_json()["errors"]) == ["amount"]
    too_long = officer.post("/applications", json={**base, "amount": "5000.00", "term_months": 48})
    assert too_long.status_code == 422 and list(too_long.get_json()["errors"]) == ["term_months"]
    unknown = officer.post(
        "/applications",
        json={**base, "product_id": customer, "amount": "5000.00", "term_months": 12},
    )
    assert unknown.status_code == 422 and list(unknown.get_json()["errors"]) == ["product_id"]

    made = officer.post("/applications", json={**base, "amount": "5000.00", "term_months": 12})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["product_id"] == product["id"]
    # a change is checked against the product too, and refused whole
    application = made.get_json()["id"]
    refused = officer.patch(f"/applications/{application}", json={"amount": "999.00"})
    assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["amount"]
    assert officer.get(f"/applications/{application}").get_json()["amount"] == "5000.00"


def test_the_products_page_adds_a_product_and_shows_mistakes_by_the_field(
    intake: Firm, app: Flask
) -> None:
    from tests.helpers import csrf_from
    from tests.plugins.customers.conftest import PASSWORD

    def sign_in(name: str) -> Any:
        browser = app.test_client()
        login = f"/t/{intake.tenant.slug}/login"
        staff = intake.staff[name]
        answer = browser.post(
            login,
            data={
                "email": staff.email,
                "password": PASSWORD,
                "csrf_token": csrf_from(browser, login),
            },
        )
        assert answer.status_code == 302
        return browser

    base = f"/t/{intake.tenant.slug}/applications/products"
    assert sign_in("officer1").get(base).status_code == 403
    browser = sign_in("risk")
    form = {
        "csrf_token": csrf_from(browser, f"{base}/new"),
        "code": "GX01",
        "name": "工薪贷",
        "min_amount": "1000",
        "max_amount": "500",
        "min_term_months": "3",
        "max_term_months": "12",
        "required_documents": ["id_front", "bank_statement"],
        "active": "on",
    }
    refused = browser.post(f"{base}/new", data=form)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="f-max_amount-error"' in html and 'value="工薪贷"' in html
    saved = browser.post(f"{base}/new", data={**form, "max_amount": "80000"})
    assert saved.status_code == 302
    listed = browser.get(base).get_data(as_text=True)
    assert "GX01" in listed and "身份证正面、银行流水" in listed
    # the application form now offers it
    officer = sign_in("officer1")
    new_form = officer.get(f"/t/{intake.tenant.slug}/applications/new").get_data(as_text=True)
    assert 'name="product_id"' in new_form and "工薪贷" in new_form
