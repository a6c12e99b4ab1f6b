"""Fixtures for the connectors page and API: tenant A with the HTTP SMS gateway plugin
enabled against its test gateway (``tests/plugins/sms_http``), a staff member of A without
``plugins.manage`` (a browser and an API client acting for them), and helpers to read A's
connector status and audit rows."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture, fetch_token, tenant_session
from tests.plugins.sms_http.conftest import SECRET, Sms, gateway, sms  # noqa: F401

PASSWORD = "Correct-horse-42"


def add_officer(app: Flask, tenant: TenantFixture) -> tuple[str, ApiClient]:
    """A credit officer of ``tenant`` (no plugins.manage): their e-mail and an API client
    with both plugin scopes acting for them."""
    from loandesk.auth import clients, users
    from loandesk.tenancy import service, use

    email = f"officer@{tenant.slug}.example.cn"
    ext = app.extensions["loandesk"]
    with app.app_context(), ext.db.transaction() as session:
        with use(service.get_by_slug(session, tenant.slug).ref()):
            user = users.create_user(session, email=email, display_name="officer",
                                     password=PASSWORD, roles=["credit_officer"]).user  # fmt: skip
            new = clients.create_client(
                session, tenant_id=uuid.UUID(tenant.id), name="officer's client",
                scopes=["plugins:read", "plugins:write"], created_by_id=None, acts_as_id=user.id,
            )  # fmt: skip
            client_id, secret = new.client.client_id, new.client_secret
    web = app.test_client()
    token = fetch_token(web, client_id, secret).get_json()["access_token"]
    return email, ApiClient(web, token)


def status_rows(app: Flask, slug: str) -> dict[str, Any]:
    from loandesk.connectors.models import ConnectorStatus

    with tenant_session(app, slug) as session:
        return {
            row.key: (row.state, row.last_success_detail, row.last_error)
            for row in session.scalars(select(ConnectorStatus))
        }


def audits(app: Flask, slug: str, action: str) -> list[Any]:
    from loandesk.audit.models import AuditEvent

    with tenant_session(app, slug) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return [(row.record_id, row.diff) for row in rows]


@pytest.fixture
def officer(app: Flask, tenant_a: TenantFixture) -> tuple[str, ApiClient]:
    return add_officer(app, tenant_a)
