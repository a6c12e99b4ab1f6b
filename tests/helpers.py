"""Helpers for tests: tenants, API calls with a tenant's token, web sign-in with CSRF."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

# --- tenants -------------------------------------------------------------------------------


@dataclass
class TenantFixture:
    id: str
    slug: str
    admin_email: str
    admin_password: str
    admin_user_id: str
    client_id: str
    client_secret: str
    token: str


class ApiClient:
    """Calls ``/api/v1`` as one tenant: adds the tenant's bearer token to every request."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client, self.token = client, token

    def _headers(self, kw: dict[str, Any]) -> dict[str, Any]:
        return {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self._headers(kw), **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.client.post(f"/api/v1{path}", headers=self._headers(kw), **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.client.patch(f"/api/v1{path}", headers=self._headers(kw), **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.client.put(f"/api/v1{path}", headers=self._headers(kw), **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self._headers(kw), **kw)


def sign_up(client: FlaskClient, slug: str, name: str | None = None) -> dict[str, Any]:
    response = client.post(
        "/api/v1/signup",
        json={
            "name": name or f"{slug} 小贷",
            "slug": slug,
            "admin_email": f"admin@{slug}.example.cn",
            "admin_password": "Correct-horse-42",
        },
    )
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def fetch_token(client: FlaskClient, client_id: str, secret: str, scope: str | None = None) -> Any:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return client.post("/oauth/token", data=data, headers={"Authorization": f"Basic {basic}"})


def make_tenant(app: Flask, slug: str) -> TenantFixture:
    from loandesk.auth import clients
    from loandesk.tenancy import service, use

    web = app.test_client()
    data = sign_up(web, slug)
    ext = app.extensions["loandesk"]
    with app.app_context(), ext.db.transaction() as session:
        tenant = service.get_by_slug(session, slug)
        with use(tenant.ref()):
            new = clients.create_client(
                session,
                tenant_id=tenant.id,
                name="tests",
                scopes=list(clients.SCOPES),
                created_by_id=None,
            )
            client_id, secret = new.client.client_id, new.client_secret
    token = fetch_token(web, client_id, secret).get_json()["access_token"]
    return TenantFixture(
        id=data["id"],
        slug=slug,
        admin_email=f"admin@{slug}.example.cn",
        admin_password="Correct-horse-42",
        admin_user_id=data["admin_user_id"],
        client_id=client_id,
        client_secret=secret,
        token=token,
    )


# --- web -----------------------------------------------------------------------------------


def csrf_from(client: FlaskClient, path: str) -> str:
    """Load a page and return the CSRF token its forms carry."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def web_login(client: FlaskClient, tenant: TenantFixture, password: str | None = None) -> Any:
    login = f"/t/{tenant.slug}/login"
    token = csrf_from(client, login)
    return client.post(
        login,
        data={
            "email": tenant.admin_email,
            "password": password or tenant.admin_password,
            "csrf_token": token,
        },
    )


def installed_plugins() -> list[str]:
    """The migration folders of the plugins installed with LoanDesk (the built-in ones)."""
    from loandesk.plugins.host import PluginHost

    host = PluginHost()
    host.discover()
    host.gather()
    return host.migration_folders()


def signed_in(web: FlaskClient, slug: str) -> bool:
    """Whether this browser is signed in to tenant ``slug`` (its home page answers)."""
    return web.get(f"/t/{slug}/").status_code == 200


def audit_events(app: Flask, slug: str, action: str) -> list[dict[str, Any]]:
    """Tenant ``slug``'s audit events ``action``, oldest first: ``record_id`` and the diff."""
    from sqlalchemy import select

    from loandesk.audit.models import AuditEvent

    with tenant_session(app, slug) as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
        return [{"record_id": e.record_id, **e.diff} for e in rows]


@contextmanager
def tenant_session(app: Flask, slug: str) -> Iterator[Any]:
    """The app's session with tenant ``slug`` current, committed at the end of the block
    (rolled back if it raises)."""
    from loandesk.tenancy import service, use

    ext = app.extensions["loandesk"]
    with app.app_context():
        session = ext.db.session()
        tenant = service.get_by_slug(session, slug).ref()
        session.commit()
        try:
            with use(tenant):
                yield session
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            ext.db.session.remove()


def send_templated_sms(
    app: Flask, api: ApiClient, slug: str, template: dict[str, Any], params: dict[str, Any]
) -> Any:
    """Add ``template`` to the tenant's SMS templates (through the API) and queue an urgent SMS
    to 13800138000 with it (``sdk.send_sms``, keyed ``sms:<template key>``); the message id."""
    from loandesk import sdk

    added = api.post("/sms-templates", json=template)
    assert added.status_code == 201, added.get_json()
    with tenant_session(app, slug) as session:
        message = sdk.send_sms(
            session, "13800138000", template["key"], params, key=f"sms:{template['key']}",
            urgent=True,
        )  # fmt: skip
        return message.id
