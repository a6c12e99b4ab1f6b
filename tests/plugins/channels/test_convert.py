"""Converting a lead finds its borrower through ``sdk.customer_registry()`` by ID number only,
within the converting staff member's data scope, and adds one otherwise; the application is
started through ``sdk.application_intake()`` with the tenant's form checks."""

from __future__ import annotations

from flask import Flask

from tests.helpers import ApiClient
from tests.plugins.channels.conftest import Channels, submit_public_form

ID_NUMBER = "11010519491231002X"


def _lead(channels: Channels, app: Flask, api: ApiClient, name: str, mobile: str) -> str:
    sent = submit_public_form(app, channels.links["agent1"], name=name, mobile=mobile)
    assert sent.status_code == 200, sent.get_data(as_text=True)
    answer = api.get("/channels/leads")
    assert answer.status_code == 200, answer.get_json()
    listed = answer.get_json()["items"]
    return next(lead["id"] for lead in listed if lead["name"] == name)


def test_a_lead_with_a_known_id_number_is_the_same_customer_else_a_new_one(
    channels: Channels, app: Flask
) -> None:
    api = channels.firm.staff["agent1"].api  # leads through agent1's link are theirs
    first = _lead(channels, app, api, "李四", "13912345678")
    made = api.post(
        f"/channels/leads/{first}/convert",
        json={"id_number": ID_NUMBER, "term_months": 12, "amount": "30000.00"},
    )
    assert made.status_code == 201, made.get_json()
    customer = made.get_json()["customer_id"]
    shown = channels.firm.staff["risk"].api.get(f"/customers/{customer}")  # the branch's
    assert shown.get_json()["name"] == "李四"

    again = _lead(channels, app, api, "李四（重复）", "13912345679")
    found = api.post(
        f"/channels/leads/{again}/convert",
        json={"id_number": ID_NUMBER, "term_months": 12, "amount": "30000.00"},
    )
    assert found.status_code == 201, found.get_json()
    assert found.get_json()["customer_id"] == customer

    # another ID number: a new customer
    other = _lead(channels, app, api, "王五", "13700000000")
    new = api.post(
        f"/channels/leads/{other}/convert",
        json={"id_number": "110105198001010016", "term_months": 12, "amount": "30000.00"},
    )
    assert new.status_code == 201, new.get_json()
    assert new.get_json()["customer_id"] != customer


def test_an_agent_does_not_find_a_customer_outside_their_scope(
    channels: Channels, app: Flask
) -> None:
    """agent2 cannot reach the customer agent1's conversion made: their conversion is not
    given that customer, it is refused at the ID number (one customer per ID number) and their
    lead stays new."""
    first = _lead(channels, app, channels.firm.staff["agent1"].api, "李四", "13912345678")
    made = channels.firm.staff["agent1"].api.post(
        f"/channels/leads/{first}/convert",
        json={"id_number": ID_NUMBER, "term_months": 12, "amount": "30000.00"},
    )
    assert made.status_code == 201, made.get_json()
    agent2 = channels.firm.staff["agent2"].api
    sent = submit_public_form(app, channels.links["agent2"], name="赵六", mobile="13600000000")
    assert sent.status_code == 200
    (lead,) = agent2.get("/channels/leads").get_json()["items"]
    theirs = agent2.post(
        f"/channels/leads/{lead['id']}/convert",
        json={"id_number": ID_NUMBER, "term_months": 12, "amount": "30000.00"},
    )
    assert theirs.status_code == 422, theirs.get_json()
    assert list(theirs.get_json()["errors"]) == ["id_number"]
    assert agent2.get(f"/channels/leads/{lead['id']}").get_json()["status"] == "new"


def test_a_wrong_term_is_refused_next_to_the_field_and_the_lead_stays_new(
    channels: Channels, app: Flask
) -> None:
    api = channels.firm.staff["agent1"].api  # leads through agent1's link are theirs
    lead = _lead(channels, app, api, "李四", "13912345678")
    refused = api.post(f"/channels/leads/{lead}/convert", json={"term_months": "many"})
    assert refused.status_code == 422, refused.get_json()
    assert api.get(f"/channels/leads/{lead}").get_json()["status"] == "new"
    # nor is the customer made before the application was refused kept
    assert channels.firm.staff["risk"].api.get("/customers").get_json()["items"] == []
