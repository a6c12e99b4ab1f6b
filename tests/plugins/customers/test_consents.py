"""Consent records (授权记录): staff with customers.consent record what a customer agreed to,
to which text version, when and how; each field is checked and a refused record writes
nothing; a withdrawal is recorded once and the consent then no longer counts; every change is
audited; the customer's page lists them; data scope and the permission apply."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import web_login
from tests.plugins.customers.conftest import Firm, audit_events, new_customer

TEXT = "本人同意贵司向征信机构查询本人信用信息。"
TEXT_HASH = hashlib.sha256(TEXT.encode()).hexdigest()


def _body(**changes: Any) -> dict[str, Any]:
    return {
        "purpose": "credit_query",
        "text_version": "征信授权书 v3",
        "text_hash": TEXT_HASH,
        "agreed_at": "2025-03-03T10:00:00+08:00",
        "channel": "paper",
        **changes,
    }


def test_a_consent_is_recorded_listed_and_audited(app: Flask, firm: Firm) -> None:
    officer = firm.staff["officer1"].api
    customer = new_customer(officer)["id"]

    answer = officer.post(f"/customers/{customer}/consents", json=_body())

    assert answer.status_code == 201, answer.get_json()
    consent = answer.get_json()
    assert {k: consent[k] for k in ("purpose", "text_version", "text_hash", "channel")} == {
        "purpose": "credit_query",
        "text_version": "征信授权书 v3",
        "text_hash": TEXT_HASH,
        "channel": "paper",
    }
    assert datetime.fromisoformat(consent["agreed_at"]) == datetime(2025, 3, 3, 2, tzinfo=UTC)
    assert (consent["valid"], consent["withdrawn_at"]) == (True, None)
    assert consent["recorded_by_id"] == firm.staff["officer1"].user_id
    listed = officer.get(f"/customers/{customer}/consents").get_json()["items"]
    assert [c["id"] for c in listed] == [consent["id"]]
    [event] = audit_events(app, firm, "customer.consent")
    assert event.record_id == customer
    assert event.diff["consent_id"] == consent["id"]
    assert event.diff["text_version"] == "征信授权书 v3"
    assert event.actor_id == firm.staff["officer1"].user_id


def test_each_field_is_checked_and_a_refused_consent_writes_nothing(app: Flask, firm: Firm) -> None:
    officer = firm.staff["officer1"].api
    customer = new_customer(officer)["id"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()

    answer = officer.post(
        f"/customers/{customer}/consents",
        json=_body(purpose="anything", channel="fax", text_version=" ", text_hash="abc",
                   agreed_at=future),
    )  # fmt: skip

    assert answer.status_code == 422
    assert answer.get_json()["errors"] == {
        "purpose": ["Choose credit_query, personal_info or marketing."],
        "channel": ["Choose web, paper or app."],
        "text_version": ["Enter the consent text's version (at most 40 characters)."],
        "text_hash": ["Enter the SHA-256 of the text as 64 hexadecimal digits."],
        "agreed_at": ["A consent cannot be agreed to in the future."],
    }
    missing = officer.post(f"/customers/{customer}/consents", json={"purpose": "marketing"})
    assert missing.status_code == 422
    assert sorted(missing.get_json()["errors"]) == ["agreed_at", "channel", "text_version"]
    assert officer.get(f"/customers/{customer}/consents").get_json()["items"] == []
    assert audit_events(app, firm, "customer.consent") == []


def test_a_withdrawn_consent_no_longer_counts_and_is_withdrawn_once(app: Flask, firm: Firm) -> None:
    officer = firm.staff["officer1"].api
    customer = new_customer(officer)["id"]
    consent = officer.post(f"/customers/{customer}/consents", json=_body()).get_json()

    withdrawn = officer.post(f"/customers/{customer}/consents/{consent['id']}/withdraw")

    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["valid"] is False
    assert withdrawn.get_json()["withdrawn_at"] is not None
    again = officer.post(f"/customers/{customer}/consents/{consent['id']}/withdraw")
    assert again.status_code == 409
    [event] = audit_events(app, firm, "customer.consent_withdraw")
    assert event.diff == {"consent_id": consent["id"], "purpose": "credit_query"}
    other = new_customer(officer, mobile="13912345678", id_number="110105194912310011")["id"]
    elsewhere = officer.post(f"/customers/{other}/consents/{consent['id']}/withdraw")
    assert elsewhere.status_code == 404


def test_the_permission_and_the_data_scope_apply(firm: Firm) -> None:
    customer = new_customer(firm.staff["officer1"].api)["id"]
    path = f"/customers/{customer}/consents"

    assert firm.staff["auditor"].api.get(path).status_code == 200
    assert firm.staff["auditor"].api.post(path, json=_body()).status_code == 403
    assert firm.staff["officer3"].api.get(path).status_code == 404  # another team's customer
    assert firm.staff["officer3"].api.post(path, json=_body()).status_code == 404
    assert firm.staff["risk"].api.post(path, json=_body()).status_code == 201


def test_the_customer_page_shows_the_consents(app: Flask, client: FlaskClient, firm: Firm) -> None:
    officer = firm.staff["officer1"].api
    customer = new_customer(officer)["id"]
    consent = officer.post(f"/customers/{customer}/consents", json=_body()).get_json()
    officer.post(f"/customers/{customer}/consents/{consent['id']}/withdraw")
    officer.post(f"/customers/{customer}/consents", json=_body(purpose="marketing"))

    assert web_login(client, firm.tenant).status_code == 302
    page = client.get(f"/t/{firm.tenant.slug}/customers/{customer}").get_data(as_text=True)

    assert "征信授权书 v3" in page
    assert page.count("<tr>") >= 3
    assert "Credit query authorisation" in page or "征信查询授权" in page
