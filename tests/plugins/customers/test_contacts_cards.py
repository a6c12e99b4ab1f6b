"""Emergency contacts and bank cards (issue 9, item 1, points 1-2): added, listed, changed and
removed through the API and the customer's page; the mobile and card number encrypted and
shown as the viewer's permission on the customer's mobile and bank card says (hidden, masked,
in full), changed only by those who may edit them; bad input refused with 4xx JSON (or a
message next to the field) and nothing written; every change audited without the numbers."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from tests.helpers import ApiClient, csrf_from, tenant_session
from tests.plugins.customers.conftest import (
    PASSWORD,
    Firm,
    Staff,
    add_staff,
    audit_events,
    new_customer,
)

CARD = "6222020200112233446"  # passes the Luhn check
OTHER_CARD = "4111111111111111"


def _grant(api_a: ApiClient, role: str, fields: dict[str, str]) -> None:
    roles = {r["key"]: r["id"] for r in api_a.get("/roles").get_json()}
    answer = api_a.put(
        f"/roles/{roles[role]}/record-access/customer",
        json={"scope": "all", "fields": fields, "export": []},
    )
    assert answer.status_code == 200, answer.get_json()


def _card(**changes: Any) -> dict[str, Any]:
    return {
        "bank_name": "中国工商银行",
        "card_number": CARD,
        "holder_name": "张三丰",
        "purpose": "disbursement",
        **changes,
    }


def test_contacts_are_added_listed_changed_removed_and_audited(app: Flask, firm: Firm) -> None:
    officer = firm.staff["officer1"].api
    customer = new_customer(officer)["id"]

    added = officer.post(
        f"/customers/{customer}/contacts",
        json={"name": "张翠山", "relation": "parent", "mobile": "139 0013 9000"},
    )
    assert added.status_code == 201, added.get_json()
    contact = added.get_json()
    assert (contact["name"], contact["relation"], contact["mobile"]) == (
        "张翠山",
        "parent",
        "13900139000",
    )
    changed = officer.patch(
        f"/customers/{customer}/contacts/{contact['id']}",
        json={"relation": "friend", "mobile": "13700137000"},
    )
    assert changed.status_code == 200, changed.get_json()
    listed = officer.get(f"/customers/{customer}/contacts").get_json()["items"]
    assert [(c["name"], c["relation"], c["mobile"]) for c in listed] == [
        ("张翠山", "friend", "13700137000")
    ]

    with tenant_session(app, firm.tenant.slug) as session:
        stored = session.execute(text("select mobile_enc from customers_contacts")).scalar_one()
    assert "13700137000" not in stored

    [add] = audit_events(app, firm, "customer.contact_add")
    assert add.record_id == customer and add.diff["mobile"] == "***"
    [update] = audit_events(app, firm, "customer.contact_update")
    assert update.diff["relation"] == ["parent", "friend"]
    assert update.diff["mobile"] == ["***", "***"]
    assert "13700137000" not in str(update.diff) and "13900139000" not in str(add.diff)

    assert officer.delete(f"/customers/{customer}/contacts/{contact['id']}").status_code == 204
    assert officer.get(f"/customers/{customer}/contacts").get_json()["items"] == []
    [removed] = audit_events(app, firm, "customer.contact_remove")
    assert removed.diff["contact_id"] == contact["id"]
    gone = officer.delete(f"/customers/{customer}/contacts/{contact['id']}")
    assert gone.status_code == 404 and gone.get_json()["code"] == "not_found"


def test_bad_contacts_are_refused_with_422_and_nothing_is_written(firm: Firm) -> None:
    officer = firm.staff["officer1"].api
    customer = new_customer(officer)["id"]

    refused = officer.post(
        f"/customers/{customer}/contacts",
        json={"name": " ", "relation": "cousin", "mobile": "12345"},
    )
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["code"] == "validation_error"
    assert body["errors"] == {
        "name": ["Enter the contact's name (at most 50 characters)."],
        "relation": ["Choose spouse, parent, sibling, child, colleague, friend or other."],
        "mobile": ["Enter an 11-digit mainland mobile number."],
    }
    assert officer.get(f"/customers/{customer}/contacts").get_json()["items"] == []

    contact = officer.post(
        f"/customers/{customer}/contacts",
        json={"name": "周芷若", "relation": "spouse", "mobile": "13900139000"},
    ).get_json()
    bad = officer.patch(
        f"/customers/{customer}/contacts/{contact['id']}",
        json={"name": "赵敏", "mobile": "abc"},
    )
    assert bad.status_code == 422 and list(bad.get_json()["errors"]) == ["mobile"]
    [kept] = officer.get(f"/customers/{customer}/contacts").get_json()["items"]
    assert (kept["name"], kept["mobile"]) == ("周芷若", "13900139000")  # the name did not change


def test_contact_mobiles_follow_the_customers_mobile_permission(
    app: Flask, client: FlaskClient, firm: Firm, api_a: ApiClient
) -> None:
    officer = firm.staff["officer1"].api
    customer = new_customer(officer)["id"]
    officer.post(
        f"/customers/{customer}/contacts",
        json={"name": "张翠山", "relation": "parent", "mobile": "13900139000"},
    )
    # a read-only role sees the customer's mobile masked: contacts' mobiles too, and may not add
    reader = add_staff(app, client, firm.tenant, "reader", ["read_only"], firm.units["company"])
    [seen] = reader.api.get(f"/customers/{customer}/contacts").get_json()["items"]
    assert (seen["mobile"], seen["masked"]) == ("139****9000", ["mobile"])
    refused = reader.api.post(
        f"/customers/{customer}/contacts",
        json={"name": "x", "relation": "other", "mobile": "13900139001"},
    )
    assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"
    # the auditor sees it in full, and that display is audited (which numbers, not values)
    [full] = firm.staff["auditor"].api.get(f"/customers/{customer}/contacts").get_json()["items"]
    assert full["mobile"] == "13900139000" and full["masked"] == []
    shown = [
        e
        for e in audit_events(app, firm, "personal_data.view")
        if e.diff["fields"] == ["contacts.mobile"]
    ]
    assert [e.actor_id for e in shown] == [firm.staff["auditor"].user_id]
    # a role from which the mobile is hidden gets no mobile at all
    _grant(api_a, "auditor", {"name": "view"})
    [hidden] = firm.staff["auditor"].api.get(f"/customers/{customer}/contacts").get_json()["items"]
    assert "mobile" not in hidden and hidden["name"] == "张翠山"


def test_bank_cards_are_checked_masked_defaulted_and_audited(
    app: Flask, client: FlaskClient, firm: Firm, api_a: ApiClient
) -> None:
    officer = firm.staff["officer1"].api
    customer = new_customer(officer)["id"]

    first = officer.post(f"/customers/{customer}/cards", json=_card())
    assert first.status_code == 201, first.get_json()
    card = first.get_json()
    assert (card["card_number"], card["is_default"], card["purpose"]) == (
        CARD,
        True,  # the first card of a purpose is its default
        "disbursement",
    )
    second = officer.post(
        f"/customers/{customer}/cards",
        json=_card(card_number=OTHER_CARD, bank_name="招商银行", is_default=True),
    ).get_json()
    listed = officer.get(f"/customers/{customer}/cards").get_json()["items"]
    assert [(c["id"], c["is_default"]) for c in listed] == [
        (second["id"], True),
        (card["id"], False),
    ]
    made = officer.patch(f"/customers/{customer}/cards/{card['id']}", json={"is_default": True})
    assert made.status_code == 200 and made.get_json()["is_default"] is True
    defaults = [c["id"] for c in officer.get(f"/customers/{customer}/cards").get_json()["items"]
                if c["is_default"]]  # fmt: skip
    assert defaults == [card["id"]]

    # masked for a read-only role, full for finance, absent where the bank card is hidden
    reader = add_staff(app, client, firm.tenant, "reader", ["read_only"], firm.units["company"])
    masked = reader.api.get(f"/customers/{customer}/cards").get_json()["items"]
    assert {c["card_number"] for c in masked} == {"6222 **** **** 3446", "4111 **** **** 1111"}
    finance = firm.staff["finance"].api.get(f"/customers/{customer}/cards").get_json()["items"]
    assert {c["card_number"] for c in finance} == {CARD, OTHER_CARD}
    _grant(api_a, "read_only", {"name": "view"})
    hidden = reader.api.get(f"/customers/{customer}/cards").get_json()["items"]
    assert all("card_number" not in c for c in hidden) and len(hidden) == 2

    with tenant_session(app, firm.tenant.slug) as session:
        stored = session.execute(text("select card_number_enc from customers_bank_cards")).scalars()
        assert all(CARD not in s and OTHER_CARD not in s for s in stored)
    added = audit_events(app, firm, "customer.card_add")
    assert len(added) == 2 and all(e.diff["card_number"] == "***" for e in added)
    assert CARD not in str([e.diff for e in added])
    [default] = audit_events(app, firm, "customer.card_update")
    assert default.diff["is_default"] == [False, True]

    assert officer.delete(f"/customers/{customer}/cards/{second['id']}").status_code == 204
    assert len(officer.get(f"/customers/{customer}/cards").get_json()["items"]) == 1
    assert len(audit_events(app, firm, "customer.card_remove")) == 1
    # finance may view the card but not edit the customer's bank card: no change
    refused = firm.staff["finance"].api.post(
        f"/customers/{customer}/cards", json=_card(card_number=OTHER_CARD)
    )
    assert refused.status_code == 403


def test_bad_cards_are_refused_with_clear_errors_and_nothing_is_written(firm: Firm) -> None:
    officer = firm.staff["officer1"].api
    customer = new_customer(officer)["id"]

    luhn = officer.post(
        f"/customers/{customer}/cards", json=_card(card_number="6222020200112233445")
    )
    assert luhn.status_code == 422
    assert luhn.get_json()["errors"] == {
        "card_number": ["This bank card number's check digit is wrong."]
    }
    stranger = officer.post(f"/customers/{customer}/cards", json=_card(holder_name="李四"))
    assert stranger.status_code == 422
    assert stranger.get_json()["errors"] == {
        "holder_name": [
            "The account holder must be the customer: a card in another name is refused."
        ]
    }
    several = officer.post(
        f"/customers/{customer}/cards",
        json={"bank_name": "", "card_number": "12", "purpose": "savings", "is_default": "maybe"},
    )
    assert several.status_code == 422
    assert sorted(several.get_json()["errors"]) == [
        "bank_name",
        "card_number",
        "holder_name",
        "is_default",
        "purpose",
    ]
    assert officer.get(f"/customers/{customer}/cards").get_json()["items"] == []

    assert officer.post(f"/customers/{customer}/cards", json=_card()).status_code == 201
    again = officer.post(
        f"/customers/{customer}/cards",
        json=_card(card_number="6222 0202 0011 2233 446", purpose="repayment"),
    )
    assert again.status_code == 409
    assert again.get_json()["errors"] == {"card_number": ["This card is on the customer already."]}
    [card] = officer.get(f"/customers/{customer}/cards").get_json()["items"]
    frozen = officer.patch(f"/customers/{customer}/cards/{card['id']}", json={"card_number": CARD})
    assert frozen.status_code == 422  # the number does not change: remove and add


def _sign_in(app: Flask, firm: Firm, staff: Staff) -> FlaskClient:
    browser = app.test_client()
    login = f"/t/{firm.tenant.slug}/login"
    response = browser.post(
        login,
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_from(browser, login)},
    )
    assert response.status_code == 302
    return browser


def test_the_customer_page_adds_and_removes_contacts_and_cards(
    app: Flask, client: FlaskClient, firm: Firm
) -> None:
    officer = firm.staff["officer1"]
    customer = new_customer(officer.api)["id"]
    browser = _sign_in(app, firm, officer)
    page = f"/t/{firm.tenant.slug}/customers/{customer}"

    token = csrf_from(browser, page)
    refused = browser.post(
        f"{page}/contacts?lang=en",
        data={"csrf_token": token, "name": "张翠山", "relation": "parent", "mobile": "123"},
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Enter an 11-digit mainland mobile number." in html
    assert 'value="张翠山"' in html  # what was typed stays in the form
    assert (
        firm.staff["officer1"].api.get(f"/customers/{customer}/contacts").get_json()["items"] == []
    )

    added = browser.post(
        f"{page}/contacts",
        data={"csrf_token": token, "name": "张翠山", "relation": "parent", "mobile": "13900139000"},
    )
    assert added.status_code == 302
    wrong = browser.post(
        f"{page}/cards?lang=en",
        data={"csrf_token": token, "bank_name": "工行", "card_number": CARD,
              "holder_name": "李四", "purpose": "repayment"},
    )  # fmt: skip
    assert wrong.status_code == 422
    assert "a card in another name is refused" in wrong.get_data(as_text=True)
    card = browser.post(
        f"{page}/cards",
        data={"csrf_token": token, "bank_name": "工行", "card_number": CARD,
              "holder_name": "张三丰", "purpose": "repayment", "is_default": "on"},
    )  # fmt: skip
    assert card.status_code == 302

    html = browser.get(f"{page}?lang=en").get_data(as_text=True)
    assert "Emergency contacts" in html and "张翠山" in html and "13900139000" in html
    assert "Bank cards" in html and CARD in html

    reader = add_staff(app, client, firm.tenant, "reader", ["read_only"], firm.units["company"])
    seen = _sign_in(app, firm, reader).get(f"{page}?lang=en").get_data(as_text=True)
    assert "139****9000" in seen and "13900139000" not in seen
    assert "6222 **** **** 3446" in seen and CARD not in seen
    assert f'action="{page}/contacts"' not in seen  # no form to add: may not edit the mobile

    [contact] = officer.api.get(f"/customers/{customer}/contacts").get_json()["items"]
    edit = f"{page}/contacts/{contact['id']}/edit"
    assert 'value="13900139000"' in browser.get(edit).get_data(as_text=True)
    bad = browser.post(
        f"{edit}?lang=en",
        data={"csrf_token": token, "name": "张翠山", "relation": "sibling", "mobile": "1"},
    )
    assert bad.status_code == 422
    assert "Enter an 11-digit mainland mobile number." in bad.get_data(as_text=True)
    edited = browser.post(
        edit, data={"csrf_token": token, "name": "张翠山", "relation": "sibling",
                    "mobile": "13600136000"},
    )  # fmt: skip
    assert edited.status_code == 302
    [changed] = officer.api.get(f"/customers/{customer}/contacts").get_json()["items"]
    assert (changed["relation"], changed["mobile"]) == ("sibling", "13600136000")
    removed = browser.post(f"{page}/contacts/{contact['id']}/remove", data={"csrf_token": token})
    assert removed.status_code == 302
    assert officer.api.get(f"/customers/{customer}/contacts").get_json()["items"] == []
