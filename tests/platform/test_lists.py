# ruff: noqa: F811  (the firm fixture is imported from the customers tests and used by name)
"""Record lists users shape (columns, filters, sort, saved views), through the customer list:
API and web, on SQLite and PostgreSQL. Field access decides what may be listed, filtered and
sorted; a hidden field is refused exactly like an unknown one."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ApiClient, TenantFixture, csrf_from
from tests.plugins.customers.conftest import (  # noqa: F401
    PASSWORD,
    Firm,
    Staff,
    add_staff,
    firm,
    new_customer,
)


def define_fields(api: ApiClient, *fields: dict[str, Any]) -> None:
    for body in fields:
        response = api.post("/record-types/customer/fields", json=body)
        assert response.status_code == 201, response.get_json()
    assert api.post("/record-types/customer/form/publish", json={}).status_code == 201


SCORE = {"key": "score", "kind": "integer", "label_zh": "评分", "label_en": "Score"}
SOURCE = {
    "key": "source",
    "kind": "select",
    "label_zh": "来源",
    "label_en": "Source",
    "rules": {
        "options": [
            {"value": "agent", "label_zh": "代理", "label_en": "Agent"},
            {"value": "online", "label_zh": "线上", "label_en": "Online"},
        ]
    },
}


def _seed(firm: Firm) -> dict[str, str]:
    """Five customers of officer1 with incomes, scores and sources; name -> id."""
    define_fields(
        ApiClient(firm.staff["officer1"].api.client, firm.tenant.token),
        {**SCORE, "searchable": True},
        {**SOURCE, "searchable": True},
        {"key": "hobby", "kind": "text", "label_zh": "爱好", "label_en": "Hobby"},
    )
    officer = firm.staff["officer1"].api
    rows = [
        ("甲", "3000.00", 610, "agent"),
        ("乙", "5000.00", 720, "online"),
        ("丙", "8000.00", 720, "agent"),
        ("丁", "12000.50", 850, "online"),
        ("戊", None, None, None),
    ]
    ids = {}
    for index, (name, income, score, source) in enumerate(rows):
        body: dict[str, Any] = {"name": name, "mobile": f"1380013800{index}", "hobby": "钓鱼"}
        body["monthly_income"] = income
        if score is not None:
            body["score"] = score
        if source is not None:
            body["source"] = source
        ids[name] = str(new_customer(officer, **body)["id"])
    return ids


def _names(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


def test_api_filters_sort_and_columns_on_built_in_and_custom_fields(firm: Firm) -> None:
    _seed(firm)
    api = firm.staff["officer1"].api

    def listed(**query: Any) -> list[str]:
        return _names(api.get("/customers", query_string=query))

    assert listed(filter="monthly_income:ge:5000", sort="monthly_income") == ["乙", "丙", "丁"]
    assert listed(filter=["monthly_income:ge:5000", "score:eq:720"], sort="score") == ["乙", "丙"]
    assert listed(filter=["score:eq:720"], sort="-monthly_income") == ["丙", "乙"]
    assert listed(filter="score:gt:700", sort="-score") == ["丁", "丙", "乙"]
    assert set(listed(filter="source:in:agent")) == {
        "甲",
        "丙",
    }
    assert set(listed(filter="source:in:agent,online")) == {"甲", "乙", "丙", "丁"}
    assert listed(filter="score:empty") == ["戊"]
    assert listed(filter="monthly_income:empty") == ["戊"]
    assert listed(filter="name:contains:丙") == ["丙"]
    assert listed(filter="mobile:eq:13800138003") == ["丁"]  # personal data: whole value
    # empty values sort last either way; ties fall back to the id
    assert listed(sort="score")[-1] == "戊" and listed(sort="-score")[-1] == "戊"

    response = api.get(
        "/customers", query_string={"columns": "name,score,monthly_income", "sort": "-score"}
    )
    first = response.get_json()["items"][0]
    assert set(first) == {"id", "name", "score", "monthly_income", "masked"}
    assert first["score"] == 850 and first["monthly_income"] == "12000.50"
    # without columns every visible field is there, custom ones under their keys
    everything = api.get("/customers", query_string={"filter": "score:eq:610"}).get_json()
    assert everything["items"][0]["source"] == "agent"
    assert everything["items"][0]["hobby"] == "钓鱼"


def test_bad_filters_are_422_naming_the_filter(firm: Firm) -> None:
    _seed(firm)
    api = firm.staff["officer1"].api
    cases = {
        "score:ge:abc": "filter.0",  # not a number
        "score:contains:7": "filter.0",  # an operator that does not fit an integer
        "hobby:eq:钓鱼": "filter.0",  # a custom field that is not searchable
        "nonsense": "filter.0",
        "source:eq:nowhere": "filter.0",  # not an option
    }
    for text, key in cases.items():
        response = api.get("/customers", query_string={"filter": text})
        assert response.status_code == 422, text
        assert key in response.get_json()["errors"], (text, response.get_json())
    assert api.get("/customers", query_string={"sort": "nosuch"}).status_code == 422
    assert api.get("/customers", query_string={"columns": "name,nosuch"}).status_code == 422


def test_hidden_fields_are_refused_like_unknown_ones_and_masked_ones_cannot_be_ranged(
    firm: Firm,
) -> None:
    _seed(firm)
    finance = firm.staff["finance"].api  # sees name, mobile masked, bank card; not income
    unknown = finance.get("/customers", query_string={"filter": "nosuch:ge:1"}).get_json()
    hidden = finance.get("/customers", query_string={"filter": "monthly_income:ge:1"})
    assert hidden.status_code == 422
    assert hidden.get_json()["errors"]["filter.0"] == [
        unknown["errors"]["filter.0"][0].replace("nosuch", "monthly_income")
    ]
    assert finance.get("/customers", query_string={"sort": "monthly_income"}).status_code == 422
    assert finance.get("/customers", query_string={"columns": "monthly_income"}).status_code == 422

    # masked: an exact match on personal data is allowed (as the search box), sorting is not
    found = finance.get("/customers", query_string={"filter": "mobile:eq:13800138001"})
    assert _names(found) == ["乙"]
    assert found.get_json()["items"][0]["mobile"] == "138****8001"
    assert finance.get("/customers", query_string={"sort": "mobile"}).status_code == 422
    assert finance.get("/customers", query_string={"filter": "mobile:empty"}).status_code == 422


def test_sort_is_stable_across_pages(firm: Firm) -> None:
    officer = firm.staff["officer1"].api
    made = {
        str(new_customer(officer, mobile=f"1390013900{i}", monthly_income="5000.00")["id"])
        for i in range(7)
    }
    seen: list[str] = []
    for page in (1, 2, 3, 4):
        response = officer.get(
            "/customers", query_string={"sort": "monthly_income", "per_page": 2, "page": page}
        )
        seen += [item["id"] for item in response.get_json()["items"]]
    assert len(seen) == 7 and set(seen) == made
    assert seen == sorted(seen)  # ties ordered by id (UUIDv7: creation order)


def test_saved_views_are_private_and_the_default_applies(
    app: Flask, client: FlaskClient, firm: Firm, tenant_b: TenantFixture
) -> None:
    ids = _seed(firm)
    officer1, officer2 = firm.staff["officer1"].api, firm.staff["officer2"].api
    body = {
        "record_type": "customer",
        "name": "高收入",
        "columns": ["name", "monthly_income", "score"],
        "filters": ["monthly_income:ge:5000"],
        "sort": "-monthly_income",
        "is_default": True,
    }
    created = officer1.post("/views", json=body)
    assert created.status_code == 201, created.get_json()
    view = created.get_json()
    assert officer1.post("/views", json=body).status_code == 422  # same name
    assert _names(officer1.get("/customers")) == ["丁", "丙", "乙"]  # the default view
    assert set(_names(officer1.get("/customers", query_string={"sort": "name"}))) == set(ids)
    named = officer1.get("/customers", query_string={"view": view["id"]}).get_json()
    assert set(named["items"][0]) == {"id", "name", "monthly_income", "score", "masked"}

    # another staff member of the firm, and another tenant, see nothing of it
    assert officer2.get("/views").get_json()["items"] == []
    assert officer2.get(f"/views/{view['id']}").status_code == 404
    assert officer2.patch(f"/views/{view['id']}", json={"name": "x"}).status_code == 404
    assert officer2.delete(f"/views/{view['id']}").status_code == 404
    assert officer2.get("/customers", query_string={"view": view["id"]}).status_code == 404
    api_b = ApiClient(client, tenant_b.token)
    assert api_b.put("/plugins/customers", json={"enabled": True}).status_code == 200
    unit_b = str(api_b.get("/org-units").get_json()["items"][0]["id"])
    other = add_staff(app, client, tenant_b, "officer", ["credit_officer"], unit_b)
    assert other.api.get(f"/views/{view['id']}").status_code == 404
    assert other.api.get("/views").get_json()["items"] == []

    renamed = officer1.patch(f"/views/{view['id']}", json={"name": "月入五千以上"})
    assert renamed.get_json()["name"] == "月入五千以上"
    assert (
        officer1.patch(f"/views/{view['id']}", json={"filters": ["score:ge:x"]}).status_code == 422
    )
    # a view may not name a field its owner may not see
    finance = firm.staff["finance"].api
    refused = finance.post("/views", json={**body, "is_default": False})
    assert refused.status_code == 422
    assert officer1.delete(f"/views/{view['id']}").status_code == 204
    assert officer1.get("/views").get_json()["items"] == []
    assert len(_names(officer1.get("/customers"))) == 5


# --- web ------------------------------------------------------------------------------------


def _sign_in(app: Flask, firm: Firm, staff: Staff) -> FlaskClient:
    browser = app.test_client()
    login = f"/t/{firm.tenant.slug}/login"
    response = browser.post(
        login,
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_from(browser, login)},
    )
    assert response.status_code == 302
    return browser


def _cells(html: str, field: str) -> list[str]:
    cells = re.findall(rf'<td data-field="{field}">\s*(.*?)\s*</td>', html, re.S)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in cells]


def test_web_list_filters_sorts_and_chooses_columns(app: Flask, firm: Firm) -> None:
    _seed(firm)
    browser = _sign_in(app, firm, firm.staff["officer1"])
    base = f"/t/{firm.tenant.slug}/customers/"
    page = browser.get(
        base,
        query_string={
            "filter": ["score:ge:700"],
            "sort": "-score",
            "columns": "name,score,source",
        },
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert _cells(html, "name") == ["丁", "丙", "乙"]
    assert _cells(html, "source") == ["线上", "代理", "线上"]
    assert 'data-field="mobile"' not in html.split("<table", 1)[1]
    # the form's rows (field, operator, value) and the column chooser, as htmx sends them
    fragment = browser.get(
        base,
        query_string={
            "fk": ["monthly_income"],
            "fo": ["lt"],
            "fv": ["6000"],
            "cols": "1",
            "col": ["score", "name"],
            "up": "name",
        },
        headers={"HX-Request": "true", "HX-Target": "customer-list"},
    )
    text = fragment.get_data(as_text=True)
    assert "<html" not in text
    assert _cells(text, "name") == ["乙", "甲"]  # newest first
    table = text.split("<table", 1)[1]
    assert table.index('data-field="name"') < table.index('data-field="score"')


def test_web_bad_filter_shows_a_message_next_to_it_and_empty_state(app: Flask, firm: Firm) -> None:
    _seed(firm)
    browser = _sign_in(app, firm, firm.staff["officer1"])
    base = f"/t/{firm.tenant.slug}/customers/"
    bad = browser.get(base, query_string={"fk": ["score"], "fo": ["ge"], "fv": ["很多"]})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert 'id="filter-0-error"' in html and "<tbody>" not in html
    none = browser.get(base, query_string={"filter": "score:ge:999"}).get_data(as_text=True)
    assert 'data-empty="filtered"' in none and "<tbody>" not in none
    assert "cleared=1" in none  # the clear-filters link


def test_web_saved_views_from_the_list_page(app: Flask, firm: Firm) -> None:
    _seed(firm)
    browser = _sign_in(app, firm, firm.staff["officer1"])
    base = f"/t/{firm.tenant.slug}/customers/"
    token = csrf_from(browser, base)
    saved = browser.post(
        f"/t/{firm.tenant.slug}/views/",
        data={
            "csrf_token": token,
            "record_type": "customer",
            "back": base,
            "name": "线上客户",
            "filter": "source:eq:online",
            "sort": "name",
            "is_default": "1",
        },
    )
    assert saved.status_code == 302 and "view=" in saved.headers["Location"]
    html = browser.get(base).get_data(as_text=True)  # the default view opens
    assert set(_cells(html, "name")) == {"丁", "乙"} and 'data-view="线上客户"' in html
    everything = browser.get(base, query_string={"cleared": "1"}).get_data(as_text=True)
    assert len(_cells(everything, "name")) == 5
    view_id = re.search(r"view=([0-9a-f-]{36})", saved.headers["Location"]).group(1)  # type: ignore[union-attr]
    renamed = browser.post(
        f"/t/{firm.tenant.slug}/views/{view_id}",
        data={"csrf_token": token, "back": base, "action": "rename", "name": "线上"},
    )
    assert renamed.status_code == 302
    assert 'data-view="线上"' in browser.get(base).get_data(as_text=True)

    other = _sign_in(app, firm, firm.staff["officer2"])
    theirs = other.get(base, query_string={"view": view_id}).get_data(as_text=True)
    assert 'data-view="线上"' not in theirs
    other_token = csrf_from(other, base)
    refused = other.post(
        f"/t/{firm.tenant.slug}/views/{view_id}",
        data={"csrf_token": other_token, "back": base, "action": "delete"},
    )
    assert refused.status_code == 302  # back to the list with a message; nothing deleted
    assert 'data-view="线上"' in browser.get(base).get_data(as_text=True)
    deleted = browser.post(
        f"/t/{firm.tenant.slug}/views/{view_id}",
        data={"csrf_token": token, "back": base, "action": "delete"},
    )
    assert deleted.status_code == 302
    assert 'data-view="线上"' not in browser.get(base).get_data(as_text=True)


def test_custom_fields_on_the_detail_page_and_the_form(app: Flask, firm: Firm) -> None:
    define_fields(
        ApiClient(firm.staff["officer1"].api.client, firm.tenant.token),
        {**SOURCE},
        {
            "key": "agent_name",
            "kind": "text",
            "label_zh": "代理人",
            "label_en": "Agent",
            "condition": 'source == "agent"',
        },
    )
    customer = new_customer(firm.staff["officer1"].api, source="agent", agent_name="王五")
    browser = _sign_in(app, firm, firm.staff["officer1"])
    base = f"/t/{firm.tenant.slug}/customers"
    detail = browser.get(f"{base}/{customer['id']}").get_data(as_text=True)
    assert re.search(r'data-field="agent_name">\s*<dt>代理人</dt>\s*<dd>王五</dd>', detail)
    form = browser.get(f"{base}/{customer['id']}/edit").get_data(as_text=True)
    assert 'name="agent_name"' in form and "hx-post" in form
    token = csrf_from(browser, f"{base}/{customer['id']}/edit")
    refreshed = browser.post(
        f"{base}/form/refresh?customer_id={customer['id']}",
        data={"csrf_token": token, "source": "online", "name": "张三丰"},
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert 'name="source"' in refreshed and 'name="agent_name"' not in refreshed
    saved = browser.post(
        f"{base}/{customer['id']}/edit",
        data={"csrf_token": token, "source": "agent", "agent_name": "赵六"},
    )
    assert saved.status_code == 302
    seen = firm.staff["officer1"].api.get(f"/customers/{customer['id']}").get_json()
    assert seen["agent_name"] == "赵六" and seen["name"] == "张三丰"
