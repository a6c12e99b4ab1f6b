# ruff: noqa: F811  (the intake fixture is used by name)
"""One customer per resident ID number per tenant, and merging duplicates (issue 9, item 1,
point 4): a second record with a number the tenant holds is refused (API, update, import);
records made before the rule, or sharing a mobile and a name, are listed for staff with
customers.merge; a merge moves applications, consents, contacts, cards and ID photos to the
survivor the user picked and marks the other merged, in one transaction (a plugin refusing it
leaves everything as it was); it is audited."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loandesk.sdk import N_, Conflict, PluginInfo, hookimpl
from tests.helpers import ApiClient, csrf_from
from tests.plugins.customers.conftest import (
    PASSWORD,
    Firm,
    audit_events,
    legacy_id_number,
    new_customer,
)
from tests.plugins.intake.conftest import intake  # noqa: F401

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
CONSENT = {
    "purpose": "credit_query",
    "text_version": "v1",
    "agreed_at": "2025-03-03T10:00:00+08:00",
    "channel": "paper",
}


def test_a_second_customer_with_the_same_id_number_is_refused(firm: Firm) -> None:
    officer = firm.staff["officer1"].api
    first = new_customer(officer, id_number="11010519491231002X")
    # another officer, whose scope does not reach the first record, is refused too
    other = firm.staff["officer3"].api.post(
        "/customers",
        json={"name": "张三", "mobile": "13700137000", "id_number": "110105 19491231 002x"},
    )
    assert other.status_code == 422
    assert other.get_json()["errors"] == {
        "id_number": ["A customer with this resident ID number exists already."]
    }
    second = new_customer(officer, name="李四", mobile="13700137000")
    changed = officer.patch(f"/customers/{second['id']}", json={"id_number": first["id_number"]})
    assert changed.status_code == 422 and list(changed.get_json()["errors"]) == ["id_number"]
    # the record itself may be saved again with its own number
    same = officer.patch(f"/customers/{first['id']}", json={"id_number": "11010519491231002X"})
    assert same.status_code == 200


def test_an_import_refuses_rows_with_a_number_held_or_repeated(app: Flask, firm: Firm) -> None:
    from loandesk_customers.service import create_customers

    from loandesk.errors import ValidationFailed
    from loandesk.pii import Keyring
    from tests.plugins.customers.test_attachments import acting

    new_customer(firm.staff["officer1"].api, id_number="11010519491231002X")
    officer = firm.staff["officer1"]
    with acting(app, firm.tenant.slug, officer.email) as session:
        from loandesk.rbac.current import record_access

        keys = Keyring(session, master_key=app.extensions["loandesk"].settings.master_key)
        rows = [
            {"name": "甲", "mobile": "13700137001", "id_number": "11010519491231002X"},
            {"name": "乙", "mobile": "13700137002", "id_number": "110105194912310046"},
            {"name": "丙", "mobile": "13700137003", "id_number": "110105194912310046"},
        ]
        results = create_customers(
            session, record_access("customer"), keys, rows, owner_id=uuid.UUID(officer.user_id)
        )
    assert [type(r).__name__ for r in results] == [
        "ValidationFailed",
        "Customer",
        "ValidationFailed",
    ]
    duplicate = {"id_number": [N_("A customer with this resident ID number exists already.")]}
    assert all(r.errors == duplicate for r in results if isinstance(r, ValidationFailed))


def _duplicates(firm: Firm) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Three records: ``older`` and ``newer`` hold one ID number (made before the rule),
    ``twin`` shares ``older``'s mobile and name without an ID number."""
    officer = firm.staff["officer1"].api
    older = new_customer(officer, id_number="11010519491231002X")
    newer = new_customer(officer, id_number="110105194912310046", mobile="13700137000")
    twin = officer.post("/customers", json={"name": "张三丰", "mobile": "13800138000"}).get_json()
    return older, newer, twin


def test_duplicates_are_listed_for_those_who_may_merge(app: Flask, firm: Firm) -> None:
    older, newer, twin = _duplicates(firm)
    legacy_id_number(app, firm, newer["id"], "11010519491231002X")

    found = firm.staff["risk"].api.get("/customers/duplicates")
    assert found.status_code == 200, found.get_json()
    groups = {g["reason"]: [c["id"] for c in g["customers"]] for g in found.get_json()["items"]}
    assert groups == {
        "id_number": [older["id"], newer["id"]],
        "mobile_name": [older["id"], twin["id"]],
    }
    refused = firm.staff["officer1"].api.get("/customers/duplicates")
    assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"


def test_a_merge_moves_everything_to_the_survivor_in_one_transaction(
    app: Flask, intake: Firm, api_a: ApiClient
) -> None:
    firm = intake
    officer = firm.staff["officer1"].api
    older, newer, _twin = _duplicates(firm)
    legacy_id_number(app, firm, newer["id"], "11010519491231002X")
    # the newer record has an application, a consent, a contact, cards and an ID photo
    application = officer.post(
        "/applications", json={"customer_id": newer["id"], "amount": "50000.00", "term_months": 12}
    )
    assert application.status_code == 201, application.get_json()
    officer.post(f"/customers/{newer['id']}/consents", json=CONSENT)
    officer.post(
        f"/customers/{newer['id']}/contacts",
        json={"name": "张翠山", "relation": "parent", "mobile": "13900139000"},
    )
    card = {"bank_name": "工行", "holder_name": "张三丰", "purpose": "repayment"}
    officer.post(
        f"/customers/{older['id']}/cards", json={**card, "card_number": "4111111111111111"}
    )
    for number in ("4111111111111111", "6222020200112233446"):
        officer.post(f"/customers/{newer['id']}/cards", json={**card, "card_number": number})
    photo = _upload(officer)
    assert (
        officer.patch(f"/customers/{newer['id']}", json={"id_photo_front": photo}).status_code
        == 200
    )

    merged = firm.staff["risk"].api.post(
        f"/customers/{older['id']}/merge", json={"merged_id": newer["id"]}
    )
    assert merged.status_code == 200, merged.get_json()
    assert merged.get_json()["id_photo_front"] == photo

    assert _application_customer(officer, application.get_json()["id"]) == older["id"]
    assert [
        c["purpose"] for c in officer.get(f"/customers/{older['id']}/consents").get_json()["items"]
    ] == ["credit_query"]
    assert [
        c["name"] for c in officer.get(f"/customers/{older['id']}/contacts").get_json()["items"]
    ] == ["张翠山"]
    cards = officer.get(f"/customers/{older['id']}/cards").get_json()["items"]
    assert sorted((c["card_number"], c["is_default"]) for c in cards) == [
        ("4111111111111111", True),  # the survivor's own default stays the default
        ("6222020200112233446", False),
    ]
    gone = officer.get(f"/customers/{newer['id']}").get_json()
    assert gone["merged_into_id"] == older["id"]
    listed = [c["id"] for c in officer.get("/customers").get_json()["items"]]
    assert newer["id"] not in listed and older["id"] in listed
    # the merged record takes no more changes
    late = officer.post(
        f"/customers/{newer['id']}/contacts",
        json={"name": "x", "relation": "other", "mobile": "13900139001"},
    )
    assert late.status_code == 409

    [event] = audit_events(app, firm, "customer.merge")
    assert event.record_id == older["id"] and event.actor_id == firm.staff["risk"].user_id
    assert (event.diff["merged_id"], event.diff["consents"], event.diff["contacts"]) == (
        newer["id"],
        1,
        1,
    )
    assert (event.diff["cards"], event.diff["cards_already_on_survivor"]) == (1, 1)
    assert event.diff["id_photos"] == ["id_photo_front"]
    assert len(audit_events(app, firm, "customer.merged")) == 1
    [moved] = audit_events(app, firm, "application.customer_merged")
    assert moved.diff["records"] == [application.get_json()["id"]]
    again = firm.staff["risk"].api.post(
        f"/customers/{older['id']}/merge", json={"merged_id": newer["id"]}
    )
    assert again.status_code == 409


def _upload(api: ApiClient) -> str:
    import io

    answer = api.post(
        "/attachments",
        data={
            "record_type": "customer",
            "field": "id_photo_front",
            "file": (io.BytesIO(PNG), "front.png"),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 201, answer.get_json()
    return str(answer.get_json()["id"])


def _application_customer(api: ApiClient, application_id: str) -> str:
    return str(api.get(f"/applications/{application_id}").get_json()["customer_id"])


class Refuser:
    """A plugin that refuses every merge (as one whose rows cannot move would)."""

    PLUGIN = PluginInfo(name="refuser", title_zh="拒绝合并", title_en="Refuser", version="1")

    @hookimpl(trylast=True)  # after intake moved its applications
    def loandesk_customer_merged(self, session: Any, survivor_id: Any, merged_id: Any) -> None:
        raise Conflict(N_("Some fields need attention."))


@pytest.fixture
def refuser(app: Flask, api_a: ApiClient) -> Iterator[Refuser]:
    plugin = Refuser()
    host = app.extensions["loandesk.plugins"]
    host.register(plugin)
    try:
        answer = api_a.put("/plugins/refuser", json={"enabled": True})
        assert answer.status_code == 200, answer.get_json()
        yield plugin
    finally:
        host.pm.unregister(plugin)
        host.infos.pop("refuser", None)
        host.contributions.pop("refuser", None)


def test_a_refused_merge_changes_nothing(app: Flask, intake: Firm, refuser: Refuser) -> None:
    firm = intake
    officer = firm.staff["officer1"].api
    older, newer, _twin = _duplicates(firm)
    legacy_id_number(app, firm, newer["id"], "11010519491231002X")
    application = officer.post(
        "/applications", json={"customer_id": newer["id"], "amount": "50000.00", "term_months": 12}
    ).get_json()
    officer.post(
        f"/customers/{newer['id']}/contacts",
        json={"name": "张翠山", "relation": "parent", "mobile": "13900139000"},
    )

    refused = firm.staff["risk"].api.post(
        f"/customers/{older['id']}/merge", json={"merged_id": newer["id"]}
    )

    assert refused.status_code == 409
    # intake moved the application before the other plugin refused: rolled back with the rest
    assert _application_customer(officer, application["id"]) == newer["id"]
    assert len(officer.get(f"/customers/{newer['id']}/contacts").get_json()["items"]) == 1
    assert "merged_into_id" not in officer.get(f"/customers/{newer['id']}").get_json()
    assert audit_events(app, firm, "customer.merge") == []


def test_only_duplicates_merge_and_only_with_the_permission(app: Flask, firm: Firm) -> None:
    officer = firm.staff["officer1"].api
    older, newer, twin = _duplicates(firm)
    risk = firm.staff["risk"].api

    unrelated = risk.post(f"/customers/{older['id']}/merge", json={"merged_id": newer["id"]})
    assert unrelated.status_code == 422 and list(unrelated.get_json()["errors"]) == ["merged_id"]
    itself = risk.post(f"/customers/{older['id']}/merge", json={"merged_id": older["id"]})
    assert itself.status_code == 422
    nobody = risk.post(f"/customers/{older['id']}/merge", json={"merged_id": str(uuid.uuid4())})
    assert nobody.status_code == 404
    forbidden = officer.post(f"/customers/{older['id']}/merge", json={"merged_id": twin["id"]})
    assert forbidden.status_code == 403
    # same mobile and name: they merge
    assert (
        risk.post(f"/customers/{twin['id']}/merge", json={"merged_id": older["id"]}).status_code
        == 200
    )


def test_the_duplicates_page_lists_and_merges(app: Flask, firm: Firm) -> None:
    older, newer, twin = _duplicates(firm)
    browser: FlaskClient = app.test_client()
    login = f"/t/{firm.tenant.slug}/login"
    browser.post(
        login,
        data={"email": firm.staff["risk"].email, "password": PASSWORD,
              "csrf_token": csrf_from(browser, login)},
    )  # fmt: skip
    page = f"/t/{firm.tenant.slug}/customers/duplicates"
    html = browser.get(f"{page}?lang=en").get_data(as_text=True)
    assert "Same mobile and name" in html
    assert f'data-customer="{older["id"]}"' in html and f'data-customer="{twin["id"]}"' in html
    assert f'data-customer="{newer["id"]}"' not in html

    done = browser.post(
        f"/t/{firm.tenant.slug}/customers/{twin['id']}/merge",
        data={"csrf_token": csrf_from(browser, page), "merged_id": older["id"]},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(twin["id"])
    assert "No duplicate customers found." in browser.get(f"{page}?lang=en").get_data(as_text=True)
    merged = browser.get(f"/t/{firm.tenant.slug}/customers/{older['id']}?lang=en").get_data(
        as_text=True
    )
    assert "This record was merged into another one." in merged

    officer = app.test_client()
    officer.post(
        login,
        data={"email": firm.staff["officer1"].email, "password": PASSWORD,
              "csrf_token": csrf_from(officer, login)},
    )  # fmt: skip
    assert officer.get(page).status_code == 403
