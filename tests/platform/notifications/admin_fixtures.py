"""Fixtures for the notification admin pages and API: tenants A and B with the test
connector's ``sms`` and ``email`` channels enabled, tenant A's staff (a credit officer and an
auditor), sessions of either tenant, and web sign-in in English."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.helpers import ApiClient, TenantFixture, csrf_from, tenant_session
from tests.platform.notifications.conftest import Connector
from tests.plugins.customers.conftest import PASSWORD, Staff, add_staff


@dataclass
class Outbox:
    """Both tenants with the connector's channels; A's officer and auditor."""

    app: Flask
    connector: Connector
    a: TenantFixture
    b: TenantFixture
    staff: dict[str, Staff]

    @contextmanager
    def session(self, tenant: TenantFixture) -> Iterator[Session]:
        """A session of ``tenant``, committed at the end of the block."""
        with tenant_session(self.app, tenant.slug) as session:
            yield session

    def sign_in(self, tenant: TenantFixture, email: str, password: str = PASSWORD) -> FlaskClient:
        web = self.app.test_client()
        login = f"/t/{tenant.slug}/login"
        token = csrf_from(web, login)
        answer = web.post(login, data={"email": email, "password": password, "csrf_token": token})
        assert answer.status_code == 302, answer.get_data(as_text=True)
        with web.session_transaction() as session:
            session["locale"] = "en"  # English pages: the zh catalog is merged later
        return web

    def admin(self, tenant: TenantFixture) -> FlaskClient:
        return self.sign_in(tenant, tenant.admin_email, tenant.admin_password)


@pytest.fixture
def outbox(
    app: Flask,
    client: FlaskClient,
    tenant_a: TenantFixture,
    tenant_b: TenantFixture,
    api_a: ApiClient,
    api_b: ApiClient,
) -> Iterator[Outbox]:
    plugin = Connector()
    host = app.extensions["loandesk.plugins"]
    host.register(plugin)
    try:
        host.gather_notification_channels()
        for api in (api_a, api_b):
            answer = api.put("/plugins/fakesend", json={"enabled": True})
            assert answer.status_code == 200, answer.get_json()
        assert api_a.put("/plugins/customers", json={"enabled": True}).status_code == 200
        company = api_a.get("/org-units").get_json()["items"][0]["id"]
        staff = {
            name: add_staff(app, client, tenant_a, name, [role], company)
            for name, role in (("officer", "credit_officer"), ("auditor", "auditor"))
        }
        yield Outbox(app, plugin, tenant_a, tenant_b, staff)
    finally:
        host.pm.unregister(plugin)
        host.infos.pop("fakesend", None)
        host.contributions.pop("fakesend", None)


def scoped_api(client: FlaskClient, api: ApiClient, *scopes: str) -> ApiClient:
    """An API client of the same tenant holding only ``scopes``."""
    from tests.helpers import fetch_token

    created = api.post("/api-clients", json={"name": "narrow", "scopes": list(scopes)})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    token = fetch_token(client, body["client_id"], body["client_secret"]).get_json()
    return ApiClient(client, token["access_token"])


def audited(outbox: Outbox, tenant: TenantFixture, action: str) -> list[dict[str, Any]]:
    """The diffs of ``tenant``'s audit events of ``action``, oldest first."""
    from sqlalchemy import select

    from loandesk.audit.models import AuditEvent

    with outbox.session(tenant) as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
        return [dict(row.diff or {}) for row in rows]


def new_id() -> str:
    return str(uuid.uuid4())
