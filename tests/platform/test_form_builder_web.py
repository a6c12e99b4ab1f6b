"""The form builder in the web UI (字段与表单): admins add sections and custom fields, see the
service's errors next to the inputs, reorder by drag and drop (the arrange endpoint) or the
up/down buttons, preview the draft with its conditions, and publish versions. Only holders of
``fields.manage`` get in, and a tenant sees only its own fields."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture, csrf_from, web_login

FORMS = "/t/{slug}/admin/forms"


def _english(client: FlaskClient) -> None:
    """English pages: the assertions read the message ids the service and views use."""
    with client.session_transaction() as session:
        session["locale"] = "en"


@pytest.fixture
def admin(client: FlaskClient, tenant_a: TenantFixture, api_a: ApiClient) -> dict[str, Any]:
    """Tenant A with customers enabled and its admin signed in (English UI)."""
    assert api_a.put("/plugins/customers", json={"enabled": True}).status_code == 200
    assert web_login(client, tenant_a).status_code == 302
    _english(client)
    base = FORMS.format(slug=tenant_a.slug)
    return {"base": base, "builder": f"{base}/customer", "token": csrf_from(client, base)}


def _sections(api: ApiClient) -> list[dict[str, Any]]:
    return list(api.get("/record-types/customer/sections").get_json())


def _fields(api: ApiClient) -> dict[str, dict[str, Any]]:
    items = api.get("/record-types/customer/fields").get_json()["items"]
    return {f["key"]: f for f in items if f["custom"]}


def _audited(app: Flask, tenant: TenantFixture, action: str) -> list[Any]:
    from loandesk.audit.models import AuditEvent
    from loandesk.tenancy import service, use

    with app.app_context(), app.extensions["loandesk"].db.transaction() as session:
        with use(service.get_by_slug(session, tenant.slug).ref()):
            # in the order they were written: without ORDER BY, PostgreSQL returns rows in
            # whatever order the heap holds them (emptied tables reuse their free space)
            rows = session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            ).all()
            return [dict(r.diff or {}) for r in rows]


PURPOSE = {
    "key": "loan_purpose",
    "kind": "select",
    "label_zh": "借款用途",
    "label_en": "Loan purpose",
    "section": "",
    "options-0-value": "car",
    "options-0-label_zh": "购车",
    "options-0-label_en": "Car",
    "options-1-value": "home",
    "options-1-label_zh": "装修",
    "options-1-label_en": "Home",
    "options-2-value": "",
    "options-2-label_zh": "",
    "options-2-label_en": "",
}
PLATE = {
    "key": "car_plate",
    "kind": "text",
    "label_zh": "车牌号",
    "label_en": "Car plate",
    "section": "vehicle",
    "condition": 'loan_purpose == "car"',
    "required": "on",
    "rules.max_length": "10",
}


def _add(client: FlaskClient, admin: dict[str, Any], data: dict[str, str]) -> Any:
    return client.post(
        f"{admin['builder']}/fields/new", data={"csrf_token": admin["token"], **data}
    )


def _add_section(client: FlaskClient, admin: dict[str, Any], key: str, zh: str, en: str) -> Any:
    return client.post(
        f"{admin['builder']}/sections",
        data={"csrf_token": admin["token"], "key": key, "label_zh": zh, "label_en": en},
    )


def test_the_list_shows_enabled_record_types_with_version_and_changes(
    client: FlaskClient, admin: dict[str, Any], api_a: ApiClient
) -> None:
    page = client.get(admin["base"]).get_data(as_text=True)
    row = re.search(r'<tr data-record-type="customer">(.*?)</tr>', page, re.S)
    assert row and "None yet" in row[1] and "Unpublished changes" not in row[1]
    assert 'href="/t/tenant-a/admin/forms"' in page  # the nav item, for an admin

    assert _add_section(client, admin, "vehicle", "车辆信息", "Vehicle").status_code == 302
    row = re.search(
        r'<tr data-record-type="customer">(.*?)</tr>',
        client.get(admin["base"]).get_data(as_text=True),
        re.S,
    )
    assert row and "Unpublished changes" in row[1]


def test_admin_builds_reorders_and_publishes_a_form(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, Any],
    api_a: ApiClient,
    tenant_a: TenantFixture,
) -> None:
    assert _add_section(client, admin, "vehicle", "车辆信息", "Vehicle").status_code == 302
    # adding a section whose key exists would rename it: refused next to the key
    again = _add_section(client, admin, "vehicle", "别的", "Other")
    assert again.status_code == 422
    assert "A section with this key exists" in again.get_data(as_text=True)
    assert [s["label_zh"] for s in _sections(api_a)] == ["车辆信息"]

    # a select without options: the service's error next to the options editor; input kept
    bare = {k: v for k, v in PURPOSE.items() if not k.startswith("options-")}
    refused = _add(client, admin, bare)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    error = re.search(r'<div id="f-options-error">(.*?)</div>\s*</div>', html, re.S)
    assert error and "Give at least one option." in error[1]
    assert 'value="借款用途"' in html and "loan_purpose" not in _fields(api_a)

    assert _add(client, admin, PURPOSE).status_code == 302
    assert _add(client, admin, PLATE).status_code == 302
    fields = _fields(api_a)
    assert fields["loan_purpose"]["rules"]["options"] == [
        {"value": "car", "label_zh": "购车", "label_en": "Car"},
        {"value": "home", "label_zh": "装修", "label_en": "Home"},
    ]
    plate = fields["car_plate"]
    assert plate["section"] == "vehicle" and plate["required"] is True
    assert plate["rules"] == {"max_length": 10} and plate["condition"] == 'loan_purpose == "car"'
    assert [a["key"] for a in _audited(app, tenant_a, "field.create")] == [
        "loan_purpose",
        "car_plate",
    ]

    builder = client.get(admin["builder"]).get_data(as_text=True)
    assert re.search(r'data-section-key="vehicle".*data-field-key="car_plate"', builder, re.S)
    assert 'data-builtin-key="name"' in builder and "Shown when" in builder

    # a condition naming a field that does not exist: said next to the condition input
    wrong = _add(client, admin, {**PLATE, "key": "car_model", "condition": 'purpose == "car"'})
    assert wrong.status_code == 422
    assert re.search(
        r'id="f-condition-error">\s*<div class="field-error">', wrong.get_data(as_text=True)
    )

    # keyboard fallback: car_plate is first in "vehicle"; up moves it to the basic section
    moved = client.post(
        f"{admin['builder']}/move",
        data={"csrf_token": admin["token"], "field": "car_plate", "direction": "up"},
    )
    assert moved.status_code == 302
    assert _fields(api_a)["car_plate"]["section"] == ""
    layout = [
        f["key"]
        for f in api_a.get("/record-types/customer/fields").get_json()["items"]
        if f["custom"]
    ]
    assert layout == ["loan_purpose", "car_plate"]

    # drag and drop posts the whole layout (htmx: the builder fragment comes back)
    arranged = client.post(
        f"{admin['builder']}/arrange",
        data={
            "layout": json.dumps(
                [
                    {"section": "", "fields": ["loan_purpose"]},
                    {"section": "vehicle", "fields": ["car_plate"]},
                ]
            )
        },
        headers={"X-CSRFToken": admin["token"], "HX-Request": "true"},
    )
    assert arranged.status_code == 200
    fragment = arranged.get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="builder"') and "<html" not in fragment
    assert [s["fields"] for s in _sections(api_a)] == [["car_plate"]]
    # without the CSRF token nothing moves
    forged = client.post(
        f"{admin['builder']}/arrange",
        data={"layout": json.dumps([{"section": "", "fields": ["car_plate"]}])},
    )
    assert forged.status_code == 400 and _fields(api_a)["car_plate"]["section"] == "vehicle"
    # a stale layout naming an unknown field changes nothing and says why
    stale = client.post(
        f"{admin['builder']}/arrange",
        data={"layout": json.dumps([{"section": "", "fields": ["gone"]}])},
        headers={"X-CSRFToken": admin["token"], "HX-Request": "true"},
    )
    assert stale.status_code == 422 and "No such field: gone." in stale.get_data(as_text=True)

    # a section with fields cannot be deleted: the service's 409 message
    refused = client.post(
        f"{admin['builder']}/sections/vehicle/delete", data={"csrf_token": admin["token"]}
    )
    assert refused.status_code == 409
    assert "Move this section&#39;s fields to another section first." in refused.get_data(
        as_text=True
    )

    published = client.post(
        f"{admin['builder']}/publish", data={"csrf_token": admin["token"], "note": "首版"}
    )
    assert published.status_code == 302
    versions = api_a.get("/record-types/customer/form/versions").get_json()["items"]
    assert [(v["number"], v["note"], v["fields"]) for v in versions] == [
        (1, "首版", ["loan_purpose", "car_plate"])
    ]
    nothing = client.post(f"{admin['builder']}/publish", data={"csrf_token": admin["token"]})
    assert nothing.status_code == 409
    assert "Nothing changed since version 1." in nothing.get_data(as_text=True)

    listed = client.get(f"{admin['builder']}/versions").get_data(as_text=True)
    row = re.search(r'<tr data-version="1">(.*?)</tr>', listed, re.S)
    assert row and "首版" in row[1] and "Loan purpose" in row[1] and "Car plate" in row[1]
    assert row and "<td>admin</td>" in row[1]  # who published: the admin's display name


def test_remove_restore_and_edit_a_field(
    client: FlaskClient, admin: dict[str, Any], api_a: ApiClient
) -> None:
    assert _add(client, admin, PURPOSE).status_code == 302
    assert _add_section(client, admin, "vehicle", "车辆信息", "Vehicle").status_code == 302
    assert _add(client, admin, PLATE).status_code == 302
    token = admin["token"]

    # loan_purpose is named by car_plate's condition: removing it is refused with the reason
    refused = client.post(
        f"{admin['builder']}/fields/loan_purpose/remove", data={"csrf_token": token}
    )
    assert refused.status_code == 409 and "car_plate" in refused.get_data(as_text=True)
    assert _fields(api_a)["loan_purpose"]["removed"] is False

    assert (
        client.post(
            f"{admin['builder']}/fields/car_plate/remove", data={"csrf_token": token}
        ).status_code
        == 302
    )
    builder = client.get(admin["builder"]).get_data(as_text=True)
    item = re.search(
        r'<li class="builder-field removed" id="field-car_plate".*?</li>', builder, re.S
    )
    assert item and "/fields/car_plate/restore" in item[0]
    assert (
        client.post(
            f"{admin['builder']}/fields/car_plate/restore", data={"csrf_token": token}
        ).status_code
        == 302
    )
    assert _fields(api_a)["car_plate"]["removed"] is False

    # edit: the form shows the saved values; a bad bound stays next to its input
    url = f"{admin['builder']}/fields/car_plate/edit"
    form = client.get(url).get_data(as_text=True)
    assert 'value="车牌号"' in form and 'name="rules.max_length"' in form and 'value="10"' in form
    bad = client.post(url, data={**PLATE, "csrf_token": token, "rules.min_length": "20"})
    assert bad.status_code == 422
    assert re.search(
        r'id="f-rules-min_length-error">\s*<div class="field-error">The minimum length',
        bad.get_data(as_text=True),
    )
    saved = client.post(
        url,
        data={**PLATE, "csrf_token": token, "label_en": "Plate number", "help_zh": "如 沪A12345"},
    )
    assert saved.status_code == 302
    plate = _fields(api_a)["car_plate"]
    assert plate["label_en"] == "Plate number" and plate["help_zh"] == "如 沪A12345"

    # keys that read like the builder's own words still reach their fields
    for key in ("new", "kind"):
        assert _add(client, admin, {**PLATE, "key": key, "condition": ""}).status_code == 302
        edit = client.get(f"{admin['builder']}/fields/{key}/edit")
        assert edit.status_code == 200 and f"<code>{key}</code>" in edit.get_data(as_text=True)


def test_the_kind_decides_the_inputs(client: FlaskClient, admin: dict[str, Any]) -> None:
    def inputs(kind: str, **extra: str) -> str:
        response = client.post(
            f"{admin['builder']}/field-inputs",
            data={"kind": kind, "label_zh": "甲", **extra},
            headers={"X-CSRFToken": admin["token"], "HX-Request": "true"},
        )
        assert response.status_code == 200
        return response.get_data(as_text=True)

    decimal = inputs("decimal")
    assert 'name="rules.places"' in decimal and 'name="rules.minimum"' in decimal
    assert 'name="rules.pattern"' not in decimal and 'name="options-0-value"' not in decimal
    text = inputs("text")
    assert 'name="rules.pattern"' in text and 'name="rules.max_length"' in text
    link = inputs("link")
    assert re.search(r'name="rules.link_type".*<option value="customer"', link, re.S)
    computed = inputs("computed")
    assert 'name="expression"' in computed and 'name="rules.result"' in computed
    assert 'name="required"' not in computed
    assert 'name="rules.accept"' in inputs("attachment")
    # the options editor keeps typed rows and adds blank ones on request
    more = inputs(
        "select", **{"options-0-value": "a", "options-0-label_zh": "甲", "more_options": "1"}
    )
    assert 'name="options-0-value" value="a"' in more and 'name="options-5-value"' in more
    assert 'name="options-6-value"' not in more


def test_preview_shows_conditional_fields_as_values_change(
    client: FlaskClient, admin: dict[str, Any]
) -> None:
    assert _add(client, admin, PURPOSE).status_code == 302
    assert _add_section(client, admin, "vehicle", "车辆信息", "Vehicle").status_code == 302
    assert _add(client, admin, PLATE).status_code == 302
    preview = f"{admin['builder']}/preview"
    page = client.get(preview).get_data(as_text=True)
    assert 'name="loan_purpose"' in page and 'name="car_plate"' not in page
    assert 'name="name"' in page and 'name="status"' not in page  # built-ins, not system ones
    assert 'hx-post="/t/tenant-a/admin/forms/customer/preview/refresh"' in page

    refresh = client.post(
        f"{preview}/refresh",
        data={"loan_purpose": "car", "name": "张三"},
        headers={"X-CSRFToken": admin["token"], "HX-Request": "true"},
    )
    fragment = refresh.get_data(as_text=True)
    assert refresh.status_code == 200 and fragment.lstrip().startswith('<div id="record-fields"')
    assert 'name="car_plate"' in fragment and 'value="张三"' in fragment
    home = client.post(
        f"{preview}/refresh",
        data={"loan_purpose": "home"},
        headers={"X-CSRFToken": admin["token"], "HX-Request": "true"},
    ).get_data(as_text=True)
    assert 'name="car_plate"' not in home

    # "Check" runs the one validation path: the plate is required while shown
    checked = client.post(
        preview,
        data={
            "csrf_token": admin["token"],
            "loan_purpose": "car",
            "name": "张三",
            "mobile": "13800138000",
        },
    )
    assert checked.status_code == 422
    assert re.search(
        r'id="f-car_plate-error">\s*<div class="field-error">This field is required.',
        checked.get_data(as_text=True),
    )


def test_staff_without_fields_manage_get_403(
    client: FlaskClient, tenant_a: TenantFixture, api_a: ApiClient
) -> None:
    assert api_a.put("/plugins/customers", json={"enabled": True}).status_code == 200
    password = "Credit-officer-1"
    created = api_a.post(
        "/users",
        json={
            "email": "li@tenant-a.example.cn",
            "display_name": "李信审",
            "password": password,
            "roles": ["credit_officer"],
        },
    )
    assert created.status_code == 201, created.get_json()
    login = f"/t/{tenant_a.slug}/login"
    signed_in = client.post(
        login,
        data={
            "email": "li@tenant-a.example.cn",
            "password": password,
            "csrf_token": csrf_from(client, login),
        },
    )
    assert signed_in.status_code == 302
    base = FORMS.format(slug=tenant_a.slug)
    token = csrf_from(client, f"/t/{tenant_a.slug}/")
    assert f'href="{base}"' not in client.get(f"/t/{tenant_a.slug}/").get_data(as_text=True)
    assert client.get(base).status_code == 403
    assert client.get(f"{base}/customer").status_code == 403
    assert client.get(f"{base}/customer/preview").status_code == 403
    for path, data in (
        ("/customer/sections", {"key": "x", "label_zh": "甲", "label_en": "X"}),
        ("/customer/fields/new", {"key": "x", "kind": "text", "label_zh": "甲", "label_en": "X"}),
        ("/customer/publish", {}),
        ("/customer/arrange", {"layout": "[]"}),
    ):
        assert client.post(f"{base}{path}", data={"csrf_token": token, **data}).status_code == 403
    assert api_a.get("/record-types/customer/sections").get_json() == []

    # a role with fields.manage lets a non-admin in
    role = api_a.post(
        "/roles",
        json={
            "key": "form_admin",
            "name_zh": "表单管理",
            "name_en": "Forms",
            "permissions": ["fields.manage"],
        },
    )
    assert role.status_code == 201, role.get_json()
    user_id = created.get_json()["id"]
    assert (
        api_a.patch(
            f"/users/{user_id}", json={"roles": ["credit_officer", "form_admin"]}
        ).status_code
        == 200
    )
    assert client.get(f"{base}/customer").status_code == 200


def test_a_tenant_sees_only_its_own_fields(
    app: Flask, tenant_a: TenantFixture, tenant_b: TenantFixture, api_a: ApiClient, api_b: ApiClient
) -> None:
    for api in (api_a, api_b):
        assert api.put("/plugins/customers", json={"enabled": True}).status_code == 200
    created = api_a.post(
        "/record-types/customer/fields",
        json={"key": "guarantor", "kind": "text", "label_zh": "担保人", "label_en": "Guarantor"},
    )
    assert created.status_code == 201, created.get_json()

    client_a, client_b = app.test_client(), app.test_client()
    assert web_login(client_a, tenant_a).status_code == 302
    assert web_login(client_b, tenant_b).status_code == 302
    a_base, b_base = FORMS.format(slug=tenant_a.slug), FORMS.format(slug=tenant_b.slug)
    assert 'data-field-key="guarantor"' in client_a.get(f"{a_base}/customer").get_data(as_text=True)
    page_b = client_b.get(f"{b_base}/customer").get_data(as_text=True)
    assert "guarantor" not in page_b and "担保人" not in page_b
    assert client_b.get(f"{b_base}/customer/fields/guarantor/edit").status_code == 404
    token_b = csrf_from(client_b, b_base)
    assert (
        client_b.post(
            f"{b_base}/customer/fields/guarantor/remove", data={"csrf_token": token_b}
        ).status_code
        == 404
    )
    assert "担保人" not in client_b.get(f"{b_base}/customer/preview").get_data(as_text=True)
    # tenant B's session does not open tenant A's builder
    assert client_b.get(f"{a_base}/customer").status_code in (302, 403)
    assert _fields(api_a)["guarantor"]["removed"] is False
