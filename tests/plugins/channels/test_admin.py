"""Channels, agents and costs: only with ``channels.manage``; refusals name the field and
change nothing; every change is audited; the administration page shows refusals beside the
field."""

from __future__ import annotations

from flask import Flask

from tests.helpers import csrf_from
from tests.plugins.channels.conftest import Channels
from tests.plugins.customers.conftest import PASSWORD, audit_events


def test_channels_are_managed_with_the_permission_and_checked(
    channels: Channels, app: Flask
) -> None:
    firm = channels.firm
    manager, officer = firm.staff["risk"].api, firm.staff["officer1"].api
    body = {"code": "STREET", "name": "地推一队", "kind": "street"}
    assert officer.post("/channels", json=body).status_code == 403

    for wrong, field in (
        ({**body, "code": "ADS"}, "code"),  # taken
        ({**body, "code": "a b"}, "code"),
        ({**body, "kind": "tv"}, "kind"),
        ({**body, "parent_id": channels.ids["AGT-SH"]}, "parent_id"),  # a sub-channel's child
    ):
        refused = manager.post("/channels", json=wrong)
        assert refused.status_code == 422, refused.get_json()
        assert field in refused.get_json()["errors"]
    assert {c["code"] for c in manager.get("/channels").get_json()} == {"AGENTS", "AGT-SH", "ADS"}

    renamed = manager.patch(f"/channels/{channels.ids['ADS']}", json={"name": "百度推广"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "百度推广"
    assert len(audit_events(app, firm, "channel.create")) == 3
    (change,) = audit_events(app, firm, "channel.update")
    assert change.diff["name"] == ["渠道ADS", "百度推广"]

    cost = {"channel_id": channels.ids["ADS"], "spent_on": "2026-11-01", "amount": "abc"}
    refused = manager.post("/channels/costs", json=cost)
    assert refused.status_code == 422 and "amount" in refused.get_json()["errors"]
    added = manager.post("/channels/costs", json={**cost, "amount": "1,234.5"})
    assert added.status_code == 201 and added.get_json()["amount"] == "1234.50"
    assert officer.get("/channels/costs").status_code == 403

    agents = manager.get("/channels/agents").get_json()
    assert {a["user_id"] for a in agents} == {
        firm.staff["agent1"].user_id,
        firm.staff["agent2"].user_id,
    }
    again = manager.post(
        "/channels/agents",
        json={"user_id": firm.staff["agent1"].user_id, "channel_id": channels.ids["ADS"]},
    )
    assert again.status_code == 422 and "user_id" in again.get_json()["errors"]


def test_the_administration_page_shows_refusals_beside_the_field(
    channels: Channels, app: Flask
) -> None:
    browser = app.test_client()
    login = f"/t/{channels.firm.tenant.slug}/login"
    staff = channels.firm.staff["risk"]
    signed = browser.post(
        login,
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_from(browser, login)},
    )
    assert signed.status_code == 302
    page = f"/t/{channels.firm.tenant.slug}/channels/"
    html = browser.get(f"{page}?lang=en").get_data(as_text=True)
    assert "渠道AGT-SH" in html and "ref=" in html
    token = csrf_from(browser, page)
    refused = browser.post(
        page, data={"csrf_token": token, "code": "ADS", "name": "重复", "kind": "street"}
    )
    assert refused.status_code == 422
    assert "已有渠道使用此编码。" in refused.get_data(as_text=True)
    saved = browser.post(
        page, data={"csrf_token": token, "code": "STREET", "name": "地推一队", "kind": "street"}
    )
    assert saved.status_code == 302
    assert "地推一队" in browser.get(page).get_data(as_text=True)
