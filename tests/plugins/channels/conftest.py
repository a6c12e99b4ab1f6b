# ruff: noqa: F811  (fixtures imported from the customers tests are used by name)
"""Fixtures for the channels plugin: the customers firm with intake, risk and channels
enabled, channels and a sub-channel, two agents (staff accounts with the ``channel_agent``
role, in different teams) and the public lead form reached through an agent's link."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ApiClient, csrf_from
from tests.plugins.customers.conftest import Firm, add_staff, firm  # noqa: F401


@dataclass
class Channels:
    firm: Firm
    ids: dict[str, str]  # channel code -> id
    links: dict[str, str]  # agent name -> personal link


def create_channel(api: ApiClient, code: str, kind: str, parent: str | None = None) -> str:
    body = {"code": code, "name": f"渠道{code}", "kind": kind, "parent_id": parent}
    response = api.post("/channels", json=body)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


@pytest.fixture
def channels(firm: Firm, app: Flask, client: FlaskClient, api_a: ApiClient) -> Channels:
    """Channels AGENTS (agent) with sub-channel AGT-SH, and ADS (online ad); agent1 (一组)
    brings leads for AGT-SH, agent2 (二组) for AGENTS."""
    for plugin in ("intake", "risk", "channels"):
        response = api_a.put(f"/plugins/{plugin}", json={"enabled": True})
        assert response.status_code == 200, response.get_json()
    for name, unit in (("agent1", "team1"), ("agent2", "team2")):
        firm.staff[name] = add_staff(
            app, client, firm.tenant, name, ["channel_agent"], firm.units[unit]
        )
    manager = firm.staff["risk"].api  # risk managers hold channels.manage
    ids = {"AGENTS": create_channel(manager, "AGENTS", "agent")}
    ids["AGT-SH"] = create_channel(manager, "AGT-SH", "agent", ids["AGENTS"])
    ids["ADS"] = create_channel(manager, "ADS", "online_ad")
    links = {}
    for name, code in (("agent1", "AGT-SH"), ("agent2", "AGENTS")):
        body = {"user_id": firm.staff[name].user_id, "channel_id": ids[code]}
        response = manager.post("/channels/agents", json=body)
        assert response.status_code == 201, response.get_json()
        links[name] = response.get_json()["link"]
    return Channels(firm, ids, links)


def submit_public_form(app: Flask, link: str, **values: str) -> Any:
    """Open ``link`` in a new browser (no sign-in) and send the form with ``values``."""
    browser = app.test_client()
    parts = urlsplit(link)
    path = f"{parts.path}?{parts.query}" if parts.query else parts.path
    page = browser.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    hidden.pop("csrf_token", None)
    body = {**hidden, "csrf_token": csrf_from(browser, path), "consent": "on", **values}
    return browser.post(f"{parts.path}?lang=en", data=body)
