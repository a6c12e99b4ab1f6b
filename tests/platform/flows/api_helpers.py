"""API clients for the flows and approvals endpoints: a client acting for one staff member of
the desk's firm (or of any tenant), with the scopes a test asks for."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask

from tests.helpers import ApiClient, TenantFixture, fetch_token
from tests.platform.flows.conftest import Desk

ALL = ("flows:read", "flows:write", "approvals:read", "approvals:write", "records:read")


def client_for(
    app: Flask, tenant: TenantFixture, user_id: str | uuid.UUID | None, scopes: tuple[str, ...]
) -> ApiClient:
    """A new API client of ``tenant`` acting for ``user_id`` (None: for nobody)."""
    from loandesk.auth import clients
    from loandesk.tenancy import service, use

    ext = app.extensions["loandesk"]
    with app.app_context(), ext.db.transaction() as session:
        with use(service.get_by_slug(session, tenant.slug).ref()):
            new = clients.create_client(
                session,
                tenant_id=uuid.UUID(tenant.id),
                name=f"flows test {uuid.uuid4().hex[:6]}",
                scopes=list(scopes),
                created_by_id=None,
                acts_as_id=uuid.UUID(str(user_id)) if user_id else None,
            )
            client_id, secret = new.client.client_id, new.client_secret
    web = app.test_client()
    token = fetch_token(web, client_id, secret).get_json()["access_token"]
    return ApiClient(web, token)


def staff(desk: Desk, name: str, scopes: tuple[str, ...] = ALL) -> ApiClient:
    """A client acting for the desk's staff member ``name`` ("admin": the tenant admin)."""
    tenant = desk.firm.tenant
    user_id = tenant.admin_user_id if name == "admin" else desk.firm.staff[name].user_id
    return client_for(desk.app, tenant, user_id, scopes)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json(silent=True)
