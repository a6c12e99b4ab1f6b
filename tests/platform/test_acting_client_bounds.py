"""A client acting for a staff member never does more than that person may: its administration
scopes (``clients.ACTING_PERMISSIONS``) also need the person's permission, and nothing changes
when it is missing. A client acting for nobody (a machine's, made by an admin) is bounded by
its scopes alone."""

from __future__ import annotations

import uuid

from flask import Flask
from sqlalchemy import select

from loandesk.auth import clients
from tests.helpers import ApiClient, TenantFixture, fetch_token, tenant_session

SCOPES = ["users:read", "users:write", "roles:read", "roles:write", "api-clients:write"]


def _staff(app: Flask, tenant: TenantFixture, email: str, permissions: list[str]) -> str:
    """A staff member holding one role with ``permissions``: their id."""
    from loandesk.auth import users
    from loandesk.rbac.models import Role

    key = f"r{uuid.uuid4().hex[:8]}"
    with tenant_session(app, tenant.slug) as session:
        session.add(Role(key=key, name_zh=key, name_en=key, permissions=permissions))
        session.flush()
        made = users.create_user(
            session, email=email, display_name="员工", password="Good-pass-9x", roles=[key]
        )
        return str(made.user.id)


def _client(app: Flask, tenant: TenantFixture, acts_as: str | None) -> ApiClient:
    with tenant_session(app, tenant.slug) as session:
        new = clients.create_client(
            session,
            tenant_id=uuid.UUID(tenant.id),
            name=f"hr {uuid.uuid4().hex[:6]}",
            scopes=SCOPES,
            created_by_id=None,
            acts_as_id=uuid.UUID(acts_as) if acts_as else None,
        )
        client_id, secret = new.client.client_id, new.client_secret
    web = app.test_client()
    return ApiClient(web, fetch_token(web, client_id, secret).get_json()["access_token"])


def _user_row(app: Flask, tenant: TenantFixture, user_id: str) -> tuple[object, ...]:
    from loandesk.auth.models import User

    with tenant_session(app, tenant.slug) as session:
        user = session.scalar(select(User).where(User.id == uuid.UUID(user_id)))
        assert user is not None
        return (user.display_name, user.status, sorted(r.key for r in user.roles))


def test_a_client_acting_for_a_powerless_member_cannot_manage_users(
    app: Flask, tenant_a: TenantFixture
) -> None:
    nobody = _staff(app, tenant_a, "nobody@a.cn", [])
    api = _client(app, tenant_a, nobody)
    before = _user_row(app, tenant_a, nobody)

    made = api.post(
        "/users", json={"email": "x@a.cn", "display_name": "X", "password": "Go-9x-pass"}
    )
    assert made.status_code == 403, made.get_json()
    assert made.get_json()["code"] == "forbidden"
    # not even themselves: no admin right, no other role, no deactivating
    for change in ({"is_admin": True}, {"roles": ["risk_manager"]}, {"display_name": "老板"}):
        answer = api.patch(f"/users/{nobody}", json=change)
        assert answer.status_code == 403, (change, answer.get_json())
    assert api.delete(f"/users/{tenant_a.admin_user_id}").status_code == 403
    assert api.get("/users").status_code == 403
    assert api.get("/roles").status_code == 403
    assert (
        api.post("/api-clients", json={"name": "x", "scopes": ["users:write"]}).status_code == 403
    )
    assert _user_row(app, tenant_a, nobody) == before
    assert api.get("/users").get_json()["code"] == "forbidden"


def test_the_acting_members_permissions_bound_each_scope(
    app: Flask, tenant_a: TenantFixture
) -> None:
    """users.write lets the client invite staff; giving roles (roles:write) also takes
    roles.manage, which they lack."""
    hr = _staff(app, tenant_a, "hr@a.cn", ["users.write"])
    api = _client(app, tenant_a, hr)
    body = {"email": "new@a.cn", "display_name": "新人", "password": "Good-pass-9x"}
    made = api.post("/users", json=body)
    assert made.status_code == 201, made.get_json()
    assert api.get(f"/users/{made.get_json()['id']}").status_code == 200
    with_role = api.post("/users", json={**body, "email": "two@a.cn", "roles": ["risk_manager"]})
    assert with_role.status_code == 403, with_role.get_json()
    admin = api.patch(f"/users/{hr}", json={"is_admin": True})
    assert admin.status_code == 403, admin.get_json()
    assert _user_row(app, tenant_a, hr)[2] != ["tenant_admin"]


def test_a_client_acting_for_a_deactivated_member_is_refused(
    app: Flask, tenant_a: TenantFixture, api_a: ApiClient
) -> None:
    hr = _staff(app, tenant_a, "gone@a.cn", ["users.read", "users.write"])
    api = _client(app, tenant_a, hr)
    assert api.get("/users").status_code == 200
    assert api_a.delete(f"/users/{hr}").status_code == 200  # deactivated
    assert api.get("/users").status_code == 403


def test_a_client_acting_for_nobody_is_bounded_by_its_scopes(
    app: Flask, tenant_a: TenantFixture
) -> None:
    api = _client(app, tenant_a, None)
    body = {"email": "m@a.cn", "display_name": "机器建", "password": "Good-pass-9x"}
    assert api.post("/users", json=body).status_code == 201
    assert api.get("/plugins").status_code == 403  # a scope it was not given


def test_a_client_holds_no_more_than_its_maker(app: Flask, tenant_a: TenantFixture) -> None:
    """A staff member who may manage API clients but is not a tenant admin makes clients that
    act for themselves only: one acting for the admin, or for nobody (bounded by scopes
    alone), would hand them every power the scopes name. Refused with nothing made."""
    manager = _staff(app, tenant_a, "clients@a.example.cn", ["api_clients.manage"])
    through = _client(app, tenant_a, manager)
    before = len(ApiClient(app.test_client(), tenant_a.token).get("/api-clients").get_json())
    for acts_as in (None, tenant_a.admin_user_id):
        answer = through.post(
            "/api-clients", json={"name": "x", "scopes": ["users:write"], "acts_as_id": acts_as}
        )
        assert answer.status_code == 422, answer.get_json()
        assert "acts_as_id" in answer.get_json()["errors"]
    admin = ApiClient(app.test_client(), tenant_a.token)
    assert len(admin.get("/api-clients").get_json()) == before
    own = through.post(
        "/api-clients", json={"name": "mine", "scopes": ["users:read"], "acts_as_id": manager}
    )
    assert own.status_code == 201, own.get_json()
    assert own.get_json()["acts_as_id"] == manager
    # a tenant admin still makes a machine's client acting for nobody
    machine = admin.post("/api-clients", json={"name": "machine", "scopes": ["users:read"]})
    assert machine.status_code == 201, machine.get_json()
