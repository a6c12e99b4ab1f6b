"""Acceptance (governance), in the web UI: the same grants as the API decide what the
customer list, a customer's page, the form and the export show and accept."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.helpers import csrf_from
from tests.plugins.customers.conftest import PASSWORD, Firm, Staff, audit_events, new_customer


def _sign_in(app, firm: Firm, staff: Staff) -> FlaskClient:  # type: ignore[no-untyped-def]
    browser = app.test_client()
    login = f"/t/{firm.tenant.slug}/login"
    response = browser.post(
        login,
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_from(browser, login)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def _cells(html: str, field: str) -> list[str]:
    cells = re.findall(rf'<td data-field="{field}">\s*(.*?)\s*</td>', html, re.S)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in cells]


def test_collector_sees_mobile_masked_and_has_no_income_input(app, firm: Firm) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(firm.staff["officer1"].api, bank_card="6222020200112233446")
    firm.staff["risk"].api.post(
        f"/customers/{customer['id']}/assign", json={"owner_id": firm.staff["collector"].user_id}
    )
    browser = _sign_in(app, firm, firm.staff["collector"])
    base = f"/t/{firm.tenant.slug}/customers"

    listing = browser.get(f"{base}/").get_data(as_text=True)
    assert _cells(listing, "mobile") == ["138****8000"]
    assert "13800138000" not in listing
    detail = browser.get(f"{base}/{customer['id']}").get_data(as_text=True)
    assert "138****8000" in detail and "13800138000" not in detail
    assert "6222020200112233446" not in detail and 'data-field="bank_card"' not in detail
    assert "¥8,500.00" in detail  # the collector may see the income...

    form = browser.get(f"{base}/{customer['id']}/edit").get_data(as_text=True)
    assert 'name="notes"' in form
    assert 'name="monthly_income"' not in form  # ...but has no input for it
    token = csrf_from(browser, f"{base}/{customer['id']}/edit")
    refused = browser.post(
        f"{base}/{customer['id']}/edit",
        data={"csrf_token": token, "notes": "x", "monthly_income": "1.00"},
    )
    assert refused.status_code == 403
    assert "monthly_income" in refused.get_data(as_text=True)
    seen = firm.staff["auditor"].api.get(f"/customers/{customer['id']}").get_json()
    assert seen["monthly_income"] == "8500.00" and seen["notes"] is None


def test_auditor_sees_everything_in_the_ui_and_cannot_export(app, firm: Firm) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(firm.staff["officer3"].api, bank_card="6222020200112233446")
    browser = _sign_in(app, firm, firm.staff["auditor"])
    base = f"/t/{firm.tenant.slug}/customers"
    listing = browser.get(f"{base}/").get_data(as_text=True)
    assert _cells(listing, "mobile") == ["13800138000"]
    assert _cells(listing, "id_number") == ["11010519491231002X"]
    assert "export.csv" not in listing  # no export button
    detail = browser.get(f"{base}/{customer['id']}").get_data(as_text=True)
    assert "6222020200112233446" in detail
    assert f"{base}/{customer['id']}/edit" not in detail  # nothing to edit
    export = browser.get(f"{base}/export.csv")
    assert export.status_code == 403


def test_credit_officer_sees_only_own_customers_in_the_ui(app, firm: Firm) -> None:  # type: ignore[no-untyped-def]
    mine = new_customer(firm.staff["officer1"].api, name="甲某")
    theirs = new_customer(firm.staff["officer2"].api, name="乙某", mobile="13900139000")
    browser = _sign_in(app, firm, firm.staff["officer1"])
    base = f"/t/{firm.tenant.slug}/customers"
    listing = browser.get(f"{base}/").get_data(as_text=True)
    assert _cells(listing, "name") == ["甲某"]
    assert browser.get(f"{base}/{theirs['id']}").status_code == 404
    assert browser.get(f"{base}/{mine['id']}").status_code == 200
    searched = browser.get(f"{base}/", query_string={"q": "13900139000"}).get_data(as_text=True)
    assert "乙某" not in searched and _cells(searched, "name") == []


def test_export_holds_only_exportable_fields_and_is_audited(app, firm: Firm) -> None:  # type: ignore[no-untyped-def]
    new_customer(firm.staff["officer1"].api, bank_card="6222020200112233446")
    browser = _sign_in(app, firm, firm.staff["finance"])
    export = browser.get(f"/t/{firm.tenant.slug}/customers/export.csv")
    assert export.status_code == 200
    text = export.get_data(as_text=True).lstrip("\ufeff")
    header, row = text.strip().splitlines()
    assert header.split(",") == ["姓名", "银行卡号", "状态"]
    assert row.split(",") == ["张三丰", "6222020200112233446", "active"]
    (export_event,) = audit_events(app, firm, "customer.export")
    assert export_event.diff["rows"] == 1
    assert export_event.diff["fields"] == ["name", "bank_card", "status"]
    (shown,) = audit_events(app, firm, "personal_data.export")
    assert shown.diff["fields"] == ["bank_card"]  # the unmasked personal value exported
    assert shown.actor_id == firm.staff["finance"].user_id
