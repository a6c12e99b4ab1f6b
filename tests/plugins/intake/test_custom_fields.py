"""Acceptance (issue 5, point 1): a tenant adds a required select field and a conditional
field to applications; API writes missing the first or with a bad option get 422 naming the
field; the form shows the second only when its condition holds; another tenant's
applications are unaffected."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ApiClient, TenantFixture, csrf_from
from tests.plugins.customers.conftest import PASSWORD, Firm, Staff, add_staff, new_customer


def _application(api: ApiClient, customer_id: object, **values: object) -> object:
    body = {"customer_id": customer_id, "amount": "50000.00", "term_months": 12, **values}
    return api.post("/applications", json=body)


def test_api_writes_are_checked_by_the_tenants_form(purpose_form: Firm) -> None:
    officer = purpose_form.staff["officer1"].api
    customer = new_customer(officer)["id"]

    missing = _application(officer, customer)
    assert missing.status_code == 422
    assert list(missing.get_json()["errors"]) == ["loan_purpose"]

    bad = _application(officer, customer, loan_purpose="yacht")
    assert bad.status_code == 422
    assert list(bad.get_json()["errors"]) == ["loan_purpose"]

    # the conditional field is required only while its condition holds
    car_without_model = _application(officer, customer, loan_purpose="car")
    assert car_without_model.status_code == 422
    assert list(car_without_model.get_json()["errors"]) == ["car_model"]

    house = _application(officer, customer, loan_purpose="house")
    assert house.status_code == 201, house.get_json()
    assert house.get_json()["loan_purpose"] == "house"
    assert house.get_json()["car_model"] is None

    car = _application(officer, customer, loan_purpose="car", car_model="比亚迪 秦 PLUS")
    assert car.status_code == 201, car.get_json()
    body = car.get_json()
    assert (body["loan_purpose"], body["car_model"], body["amount"]) == (
        "car",
        "比亚迪 秦 PLUS",
        "50000.00",
    )
    # a change that makes the condition hold needs the field it reveals
    switched = officer.patch(
        f"/applications/{house.get_json()['id']}", json={"loan_purpose": "car"}
    )
    assert switched.status_code == 422
    assert list(switched.get_json()["errors"]) == ["car_model"]
    unchanged = officer.get(f"/applications/{house.get_json()['id']}").get_json()
    assert unchanged["loan_purpose"] == "house"


def test_error_messages_follow_the_users_language(purpose_form: Firm, app: Flask) -> None:
    officer = purpose_form.staff["officer1"].api
    customer = new_customer(officer)["id"]
    body = {"customer_id": customer, "amount": 12.5, "term_months": 12, "loan_purpose": "yacht"}
    chinese = officer.post("/applications", json=body, headers={"Accept-Language": "zh-CN"})
    assert chinese.status_code == 422
    assert chinese.get_json()["errors"] == {
        "loan_purpose": ["请从选项中选择一项。"],
        "amount": ['带小数的数字请以文本发送，例如 "8500.00"。'],
    }
    english = officer.post("/applications", json=body, headers={"Accept-Language": "en"})
    assert english.get_json()["errors"]["loan_purpose"] == ["Choose one of the options."]


def test_another_tenants_applications_are_unaffected(
    purpose_form: Firm, app: Flask, client: FlaskClient, tenant_b: TenantFixture, api_b: ApiClient
) -> None:
    for plugin in ("customers", "intake"):
        assert api_b.put(f"/plugins/{plugin}", json={"enabled": True}).status_code == 200
    company = api_b.get("/org-units").get_json()["items"][0]["id"]
    officer = add_staff(app, client, tenant_b, "b_officer", ["credit_officer"], company).api
    customer = new_customer(officer)["id"]

    plain = _application(officer, customer)
    assert plain.status_code == 201, plain.get_json()
    assert "loan_purpose" not in plain.get_json()
    custom = [
        f for f in api_b.get("/record-types/application/fields").get_json()["items"] if f["custom"]
    ]
    assert custom == []
    assert api_b.get("/record-types/application/form").get_json()["version"] is None
    # tenant B may use the same key for a field of its own, with its own options
    own = {**PURPOSE_B}
    assert api_b.post("/record-types/application/fields", json=own).status_code == 201
    assert api_b.post("/record-types/application/form/publish", json={}).status_code == 201
    assert _application(officer, customer, loan_purpose="car").status_code == 422
    assert _application(officer, customer, loan_purpose="farm").status_code == 201


PURPOSE_B = {
    "key": "loan_purpose",
    "kind": "select",
    "label_zh": "用途",
    "label_en": "Purpose",
    "rules": {"options": [{"value": "farm", "label_zh": "农资", "label_en": "Farming"}]},
}


def _sign_in(app: Flask, firm: Firm, staff: Staff) -> FlaskClient:
    browser = app.test_client()
    login = f"/t/{firm.tenant.slug}/login"
    response = browser.post(
        login,
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_from(browser, login)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def _inputs(html: str) -> set[str]:
    return set(re.findall(r'<(?:input|select|textarea)[^>]*\sname="([a-z_]+)"', html))


def test_the_form_shows_the_conditional_field_only_when_its_condition_holds(
    purpose_form: Firm, app: Flask
) -> None:
    officer = purpose_form.staff["officer1"]
    customer = new_customer(officer.api)["id"]
    browser = _sign_in(app, purpose_form, officer)
    base = f"/t/{purpose_form.tenant.slug}/applications"

    page = browser.get(f"{base}/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert {"customer_id", "amount", "term_months", "loan_purpose"} <= _inputs(html)
    assert "car_model" not in _inputs(html)
    # the select re-renders the fields through the server when it changes
    assert re.search(
        r'<select id="f-loan_purpose"[^>]*hx-post="[^"]*/applications/form-fields"', html
    )

    token = csrf_from(browser, f"{base}/new")
    car = browser.post(
        f"{base}/form-fields",
        data={"csrf_token": token, "loan_purpose": "car", "amount": "5000"},
        headers={"HX-Request": "true"},
    )
    assert car.status_code == 200
    assert "car_model" in _inputs(car.get_data(as_text=True))
    house = browser.post(
        f"{base}/form-fields",
        data={"csrf_token": token, "loan_purpose": "house"},
        headers={"HX-Request": "true"},
    )
    assert "car_model" not in _inputs(house.get_data(as_text=True))

    # submitting "car" without a model: the error sits next to the revealed field
    refused = browser.post(
        f"{base}/new",
        data={
            "csrf_token": token,
            "customer_id": customer,
            "amount": "50000.00",
            "term_months": "12",
            "loan_purpose": "car",
            "car_model": "",
        },
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert re.search(r'data-field="car_model".*?class="field-error">此项为必填项。', html, re.S)
    saved = browser.post(
        f"{base}/new",
        data={
            "csrf_token": token,
            "customer_id": customer,
            "amount": "50000.00",
            "term_months": "12",
            "loan_purpose": "car",
            "car_model": "五菱宏光",
        },
    )
    assert saved.status_code == 302
    detail = browser.get(saved.headers["Location"]).get_data(as_text=True)
    assert "五菱宏光" in detail and "购车" in detail


def test_the_application_list_filters_and_shows_custom_fields(
    purpose_form: Firm, app: Flask, api_a: ApiClient
) -> None:
    changed = api_a.patch(
        "/record-types/application/fields/loan_purpose", json={"searchable": True}
    )
    assert changed.status_code == 200, changed.get_json()
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    officer = purpose_form.staff["officer1"]
    customer = new_customer(officer.api)["id"]
    car = _application(officer.api, customer, loan_purpose="car", car_model="五菱宏光").get_json()
    house = _application(officer.api, customer, loan_purpose="house").get_json()

    found = officer.api.get("/applications?filter=loan_purpose:eq:car&columns=number,loan_purpose")
    assert found.status_code == 200, found.get_json()
    assert found.get_json()["total"] == 1
    assert [(i["number"], i["loan_purpose"]) for i in found.get_json()["items"]] == [
        (car["number"], "car")
    ]
    refused = officer.api.get("/applications?filter=loan_purpose:eq:yacht")
    assert refused.status_code == 422

    browser = _sign_in(app, purpose_form, officer)
    page = browser.get(
        f"/t/{purpose_form.tenant.slug}/applications/?filter=loan_purpose:eq:car"
        "&columns=number,loan_purpose,car_model"
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert car["number"] in html and "五菱宏光" in html and "购车" in html
    assert house["number"] not in html
