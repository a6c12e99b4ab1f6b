"""Acceptance (issue 9, channels): an agent signed in sees only their own leads and the
applications made from them — through the API (a client acting for the agent) and the web
pages (signed in at the tenant's login); the other agent's lead or application by id is 404."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import csrf_from
from tests.plugins.channels.conftest import Channels, submit_public_form
from tests.plugins.customers.conftest import PASSWORD, Staff

PEOPLE = {"agent1": ("赵一", "13911110001"), "agent2": ("钱二", "13911110002")}


def _lead_and_application(channels: Channels, app: Flask, name: str) -> tuple[str, str]:
    """A lead through agent ``name``'s link, converted by the agent: (lead, application)."""
    person, mobile = PEOPLE[name]
    sent = submit_public_form(app, channels.links[name], name=person, mobile=mobile, amount="20000")
    assert sent.status_code == 200, sent.get_data(as_text=True)
    api = channels.firm.staff[name].api
    (lead,) = [x for x in api.get("/channels/leads").get_json()["items"] if x["name"] == person]
    converted = api.post(f"/channels/leads/{lead['id']}/convert", json={"term_months": 12})
    assert converted.status_code == 201, converted.get_json()
    return lead["id"], converted.get_json()["application_id"]


def _sign_in(app: Flask, channels: Channels, staff: Staff) -> FlaskClient:
    browser = app.test_client()
    login = f"/t/{channels.firm.tenant.slug}/login"
    response = browser.post(
        login,
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_from(browser, login)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def _ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.get_json()
    return {item["id"] for item in response.get_json()["items"]}


def test_an_agent_sees_only_their_own_leads_and_applications(
    channels: Channels, app: Flask
) -> None:
    firm = channels.firm
    made = {name: _lead_and_application(channels, app, name) for name in PEOPLE}
    # a lead of no agent (an online ad) is seen by staff, by neither agent
    sent = submit_public_form(
        app, channels.links["agent1"].split("?")[0] + "?channel=ADS", name="孙三",
        mobile="13911110003",
    )  # fmt: skip
    assert sent.status_code == 200

    officer = firm.staff["officer1"].api
    assert len(_ids(officer.get("/channels/leads"))) == 3

    for name, other in (("agent1", "agent2"), ("agent2", "agent1")):
        api = firm.staff[name].api
        lead, application = made[name]
        other_lead, other_application = made[other]
        assert _ids(api.get("/channels/leads")) == {lead}
        assert _ids(api.get("/applications")) == {application}
        assert api.get(f"/channels/leads/{lead}").status_code == 200
        assert api.get(f"/applications/{application}").get_json()["owner_id"] == (
            firm.staff[name].user_id
        )
        assert api.get(f"/channels/leads/{other_lead}").status_code == 404
        assert api.get(f"/applications/{other_application}").status_code == 404
        converted = api.post(f"/channels/leads/{other_lead}/convert", json={"term_months": 6})
        assert converted.status_code == 404

        browser = _sign_in(app, channels, firm.staff[name])
        base = f"/t/{firm.tenant.slug}"
        person, other_person = PEOPLE[name][0], PEOPLE[other][0]
        listing = browser.get(f"{base}/channels/leads?lang=en")
        html = listing.get_data(as_text=True)
        assert listing.status_code == 200
        assert person in html and other_person not in html and "孙三" not in html
        assert "Your personal link" in html and "ref=" in html
        assert browser.get(f"{base}/channels/leads/{lead}").status_code == 200
        assert browser.get(f"{base}/channels/leads/{other_lead}").status_code == 404
        applications = browser.get(f"{base}/applications/").get_data(as_text=True)
        assert application_number(api, application) in applications
        assert application_number(officer_of(firm), other_application) not in applications
        assert browser.get(f"{base}/applications/{application}").status_code == 200
        assert browser.get(f"{base}/applications/{other_application}").status_code == 404
        # the administration of channels is not theirs
        assert browser.get(f"{base}/channels/").status_code == 403
        assert f'href="{base}/channels/leads"' in html  # the menu's 线索

    # staff without access to leads (finance) neither see them in the menu nor open them
    finance = _sign_in(app, channels, firm.staff["finance"])
    home = finance.get(f"/t/{firm.tenant.slug}/").get_data(as_text=True)
    assert f'href="/t/{firm.tenant.slug}/channels/leads"' not in home
    assert finance.get(f"/t/{firm.tenant.slug}/channels/leads").status_code == 403


def officer_of(firm: Any) -> Any:
    return firm.staff["risk"].api


def application_number(api: Any, application_id: str) -> str:
    return str(api.get(f"/applications/{application_id}").get_json()["number"])


def test_an_agent_converts_a_lead_on_its_page(channels: Channels, app: Flask) -> None:
    firm = channels.firm
    sent = submit_public_form(app, channels.links["agent2"], name="陈九", mobile="13911110011")
    assert sent.status_code == 200
    api = firm.staff["agent2"].api
    (lead,) = api.get("/channels/leads").get_json()["items"]
    browser = _sign_in(app, channels, firm.staff["agent2"])
    page = f"/t/{firm.tenant.slug}/channels/leads/{lead['id']}"
    token = csrf_from(browser, page)
    # no amount on the lead and none given, no term: refused beside the fields, nothing made
    refused = browser.post(
        f"{page}?lang=en", data={"csrf_token": token, "action": "convert", "term_months": ""}
    )
    assert refused.status_code == 422
    assert "This field is required." in refused.get_data(as_text=True)
    assert api.get("/applications").get_json()["total"] == 0
    assert api.get("/customers").get_json()["total"] == 0
    done = browser.post(
        page,
        data={"csrf_token": token, "action": "convert", "amount": "8000", "term_months": "6"},
    )
    assert done.status_code == 302
    (application,) = api.get("/applications").get_json()["items"]
    assert done.headers["Location"].endswith(f"/applications/{application['id']}")
    assert (application["amount"], application["term_months"]) == ("8000.00", 6)
    assert (
        api.get(f"/channels/leads/{lead['id']}").get_json()["application_id"] == (application["id"])
    )
    again = browser.post(page, data={"csrf_token": token, "action": "status", "status": "lost"})
    assert again.status_code == 409  # converted stays converted
