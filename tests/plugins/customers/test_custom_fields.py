"""Custom fields on customers, through the API: defining them (every mistake named),
publishing versions, what staff then read and write, field permissions on custom fields from
the start, removing without losing values, and personal kinds kept encrypted."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, text

from tests.helpers import ApiClient
from tests.plugins.customers.conftest import Firm, audit_events, new_customer

BASE = "/record-types/customer"
EDUCATION = {
    "key": "education",
    "kind": "select",
    "label_zh": "学历",
    "label_en": "Education",
    "section": "profile",
    "rules": {
        "options": [
            {"value": "bachelor", "label_zh": "本科", "label_en": "Bachelor"},
            {"value": "master", "label_zh": "硕士", "label_en": "Master"},
        ]
    },
}


def _define(api: ApiClient, **definition: Any) -> Any:
    return api.post(f"{BASE}/fields", json=definition)


def _publish(api: ApiClient) -> Any:
    return api.post(f"{BASE}/form/publish", json={})


def test_definitions_are_checked_field_by_field(firm: Firm, api_a: ApiClient) -> None:
    cases = [
        ({"key": "Bad Key", "kind": "text"}, "key"),
        ({"key": "name", "kind": "text"}, "key"),  # a built-in field
        ({"key": "x", "kind": "spreadsheet"}, "kind"),
        ({"key": "x", "kind": "select"}, "rules.options"),
        ({"key": "x", "kind": "text", "rules": {"pattern": "("}}, "rules.pattern"),
        ({"key": "x", "kind": "text", "condition": "nosuch == 1"}, "condition"),
        ({"key": "x", "kind": "integer", "rules": {"minimum": "ten"}}, "rules.minimum"),
        ({"key": "x", "kind": "computed", "expression": "monthly_income * 12"}, "rules.result"),
        ({"key": "x", "kind": "link", "rules": {"link_type": "spaceship"}}, "rules.link_type"),
        ({"key": "x", "kind": "text", "section": "nosuch"}, "section"),
        ({"key": "x", "kind": "integer", "default": "many"}, "default"),
    ]
    for definition, field in cases:
        response = _define(api_a, label_zh="字段", label_en="Field", **definition)
        assert response.status_code == 422, (definition, response.get_json())
        assert field in response.get_json()["errors"], (definition, response.get_json())
    assert api_a.get(f"{BASE}/fields").get_json()["items"][-1]["custom"] is False


def test_published_fields_are_read_and_written_by_staff(firm: Firm, api_a: ApiClient) -> None:
    assert (
        api_a.post(
            f"{BASE}/sections",
            json={"key": "profile", "label_zh": "个人情况", "label_en": "Profile"},
        ).status_code
        == 200
    )
    assert _define(api_a, **EDUCATION).status_code == 201
    assert (
        _define(
            api_a,
            key="annual_income",
            kind="computed",
            label_zh="年收入",
            label_en="Annual income",
            expression="monthly_income * 12",
            rules={"result": "money"},
        ).status_code
        == 201
    )
    officer = firm.staff["officer1"].api
    # a working copy changes nothing until published
    unpublished = officer.post(
        "/customers", json={"name": "王五", "mobile": "13900139000", "education": "master"}
    )
    assert unpublished.status_code == 422
    assert list(unpublished.get_json()["errors"]) == ["education"]
    published = _publish(api_a)
    assert published.status_code == 201
    assert published.get_json() | {"published_at": None, "published_by_id": None} == {
        "number": 1,
        "note": "",
        "fields": ["annual_income", "education"],  # the basic section comes first
        "published_at": None,
        "published_by_id": None,
    }
    assert _publish(api_a).status_code == 409  # nothing changed

    customer = new_customer(officer, education="master", monthly_income="8500.50")
    assert customer["education"] == "master"
    assert customer["annual_income"] == "102006.00"  # computed exactly, stored, read-only
    refused = officer.patch(f"/customers/{customer['id']}", json={"annual_income": "1.00"})
    assert refused.status_code == 403  # computed: nobody edits it, like other read-only fields
    assert list(refused.get_json()["errors"]) == ["annual_income"]
    changed = officer.patch(f"/customers/{customer['id']}", json={"monthly_income": "10000.00"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["annual_income"] == "120000.00"

    form = api_a.get(f"{BASE}/form").get_json()
    assert form["version"] == 1
    assert [s["key"] for s in form["sections"]] == ["", "profile"]
    assert form["sections"][1]["fields"] == ["education"]


def test_custom_fields_get_field_permissions_from_the_start(firm: Firm, api_a: ApiClient) -> None:
    assert _define(api_a, **{**EDUCATION, "section": ""}).status_code == 201
    assert (
        _define(
            api_a, key="spouse_mobile", kind="mobile", label_zh="配偶手机", label_en="Spouse mobile"
        ).status_code
        == 201
    )
    assert _publish(api_a).status_code == 201
    officer, collector = firm.staff["officer1"].api, firm.staff["collector"].api
    customer = new_customer(officer, education="bachelor", spouse_mobile="13700137000")
    assert customer["spouse_mobile"] == "13700137000"
    firm.staff["risk"].api.post(
        f"/customers/{customer['id']}/assign", json={"owner_id": firm.staff["collector"].user_id}
    )
    seen = collector.get(f"/customers/{customer['id']}").get_json()
    assert seen["education"] == "bachelor"
    assert seen["spouse_mobile"] == "137****7000"
    assert "spouse_mobile" in seen["masked"]
    refused = collector.patch(f"/customers/{customer['id']}", json={"education": "master"})
    assert refused.status_code == 403
    assert "education" in refused.get_json()["errors"]


def test_a_personal_custom_value_is_stored_encrypted(
    firm: Firm, api_a: ApiClient, database_urls: Any
) -> None:
    assert (
        _define(
            api_a, key="spouse_mobile", kind="mobile", label_zh="配偶手机", label_en="Spouse mobile"
        ).status_code
        == 201
    )
    assert _publish(api_a).status_code == 201
    customer = new_customer(firm.staff["officer1"].api, spouse_mobile="137 0013 7000")
    engine = create_engine(database_urls.owner_url)
    postgresql = engine.dialect.name == "postgresql"
    with engine.connect() as connection:
        if postgresql:  # row-level security applies to the owner too: act as the tenant
            connection.execute(
                text("select set_config('app.tenant_id', :tenant, false)"),
                {"tenant": firm.tenant.id},
            )
        stored = connection.execute(
            text("select custom from customers_customers where id = :id"),
            {"id": customer["id"] if postgresql else str(customer["id"]).replace("-", "")},
        ).scalar_one()
    engine.dispose()
    stored = stored if isinstance(stored, dict) else json.loads(stored)
    assert set(stored["spouse_mobile"]) == {"c", "h"}
    assert "13700137000" not in json.dumps(stored)


def test_removing_a_field_hides_it_and_keeps_its_values(
    firm: Firm, api_a: ApiClient, app: Flask
) -> None:
    assert _define(api_a, **{**EDUCATION, "section": ""}).status_code == 201
    assert (
        _define(
            api_a,
            key="degree_year",
            kind="integer",
            label_zh="毕业年份",
            label_en="Graduation year",
            condition='education == "master"',
        ).status_code
        == 201
    )
    assert _publish(api_a).status_code == 201
    officer = firm.staff["officer1"].api
    customer = new_customer(officer, education="master", degree_year=2015)
    # a field another field's condition names cannot go first
    blocked = api_a.delete(f"{BASE}/fields/education")
    assert blocked.status_code == 409
    assert "degree_year" in blocked.get_json()["message"]
    assert api_a.delete(f"{BASE}/fields/degree_year").status_code == 204
    assert api_a.delete(f"{BASE}/fields/education").status_code == 204
    assert _publish(api_a).status_code == 201
    hidden = officer.get(f"/customers/{customer['id']}").get_json()
    assert "education" not in hidden and "degree_year" not in hidden
    assert (
        officer.patch(f"/customers/{customer['id']}", json={"education": "bachelor"}).status_code
        == 422
    )
    assert api_a.post(f"{BASE}/fields/education/restore").status_code == 200
    assert _publish(api_a).status_code == 201
    assert officer.get(f"/customers/{customer['id']}").get_json()["education"] == "master"
    versions = api_a.get(f"{BASE}/form/versions").get_json()["items"]
    assert [v["number"] for v in versions] == [3, 2, 1]
    assert [e.diff["hidden"] for e in audit_events(app, firm, "form.publish")] == [
        [],
        ["degree_year", "education"],
        [],
    ]


def test_a_client_without_the_fields_scope_cannot_define(firm: Firm, api_a: ApiClient) -> None:
    officer = firm.staff["officer1"].api  # records:read/write only
    assert officer.get(f"{BASE}/fields").status_code == 403
    assert _define(officer, **EDUCATION).status_code == 403


def test_a_condition_on_a_number_holds_while_the_form_is_being_filled(
    firm: Firm, api_a: ApiClient, app: Flask
) -> None:
    """The form posts text; conditions compare typed values (score "800" is the number 800)."""
    import re

    from tests.helpers import csrf_from
    from tests.plugins.customers.conftest import PASSWORD

    assert (
        _define(api_a, key="score", kind="integer", label_zh="评分", label_en="Score").status_code
        == 201
    )
    note = {
        "key": "score_note",
        "kind": "text",
        "label_zh": "高分说明",
        "label_en": "High score note",
    }
    assert _define(api_a, condition="score > 700", **note).status_code == 201
    assert _publish(api_a).status_code == 201
    officer = firm.staff["officer1"]
    browser = app.test_client()
    login = f"/t/{firm.tenant.slug}/login"
    browser.post(
        login,
        data={
            "email": officer.email,
            "password": PASSWORD,
            "csrf_token": csrf_from(browser, login),
        },
    )
    token = csrf_from(browser, f"/t/{firm.tenant.slug}/customers/new")
    refresh = f"/t/{firm.tenant.slug}/customers/form/refresh"

    def inputs(score: str) -> set[str]:
        html = browser.post(
            refresh, data={"csrf_token": token, "score": score}, headers={"HX-Request": "true"}
        ).get_data(as_text=True)
        return set(re.findall(r'<(?:input|select|textarea)[^>]*\sname="([a-z_]+)"', html))

    assert "score_note" in inputs("800")
    assert "score_note" not in inputs("600")
    assert "score_note" not in inputs("eight hundred")  # not a number yet: not shown
