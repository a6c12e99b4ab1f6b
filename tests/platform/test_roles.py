"""Roles and permissions: built-in roles per tenant, custom roles, who may do what."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.helpers import ApiClient, csrf_from, fetch_token


def _scoped(client, api_a: ApiClient, *scopes: str) -> ApiClient:  # type: ignore[no-untyped-def]
    created = api_a.post(
        "/api-clients", json={"name": "limited", "scopes": list(scopes)}
    ).get_json()
    token = fetch_token(client, created["client_id"], created["client_secret"]).get_json()
    return ApiClient(client, token["access_token"])


def _staff(api_a: ApiClient, email: str, roles: list[str]) -> dict:  # type: ignore[type-arg]
    r = api_a.post(
        "/users",
        json={
            "email": email,
            "display_name": email.split("@")[0],
            "password": "Staff-pass-123",
            "roles": roles,
        },
    )
    assert r.status_code == 201, r.get_json()
    return dict(r.get_json())


def _sign_in(client, slug: str, email: str) -> None:  # type: ignore[no-untyped-def]
    token = csrf_from(client, f"/t/{slug}/login")
    r = client.post(
        f"/t/{slug}/login", data={"email": email, "password": "Staff-pass-123", "csrf_token": token}
    )
    assert r.status_code == 302


def test_a_new_tenant_has_the_built_in_roles(api_a: ApiClient, tenant_a) -> None:
    roles = {r["key"]: r for r in api_a.get("/roles").get_json()}
    assert set(roles) == {
        "tenant_admin",
        "credit_officer",
        "risk_manager",
        "finance",
        "post_loan_admin",
        "collector",
        "auditor",
        "read_only",
        "channel_agent",
    }
    assert all(r["builtin"] for r in roles.values())
    assert roles["collector"]["name_zh"] == "催收员"
    admin = api_a.get(f"/users/{tenant_a.admin_user_id}").get_json()
    assert admin["roles"] == ["tenant_admin"] and admin["is_admin"] is True
    names = {p["name"] for p in api_a.get("/permissions").get_json()}
    assert {"users.read", "users.write", "roles.manage", "audit.export"} <= names


def test_custom_roles_and_their_errors(api_a: ApiClient) -> None:
    body = {
        "key": "branch_manager",
        "name_zh": "分公司经理",
        "name_en": "Branch manager",
        "permissions": ["users.read", "audit.read"],
    }
    created = api_a.post("/roles", json=body)
    assert created.status_code == 201
    role = created.get_json()
    assert api_a.post("/roles", json=body).status_code == 409  # key clash
    bad = api_a.post("/roles", json={**body, "key": "Bad Key", "permissions": ["root.all"]})
    assert bad.status_code == 422 and {"key", "permissions"} <= set(bad.get_json()["errors"])
    user = _staff(api_a, "wang@a.cn", ["branch_manager"])
    assert user["roles"] == ["branch_manager"]
    in_use = api_a.delete(f"/roles/{role['id']}")
    assert in_use.status_code == 409 and "1" in in_use.get_json()["message"]
    builtin = next(r for r in api_a.get("/roles").get_json() if r["key"] == "collector")
    assert api_a.delete(f"/roles/{builtin['id']}").status_code == 409
    changed = api_a.patch(f"/roles/{role['id']}", json={"permissions": ["users.read"]})
    assert changed.get_json()["permissions"] == ["users.read"]
    assert api_a.patch(f"/users/{user['id']}", json={"roles": []}).status_code == 200
    assert api_a.delete(f"/roles/{role['id']}").status_code == 204
    assert api_a.patch(f"/users/{user['id']}", json={"roles": ["nope"]}).status_code == 422


def test_giving_roles_needs_the_roles_scope(client, api_a: ApiClient) -> None:
    writer = _scoped(client, api_a, "users:read", "users:write")
    r = writer.post(
        "/users",
        json={
            "email": "x@a.cn",
            "display_name": "X",
            "password": "Staff-pass-123",
            "is_admin": True,
        },
    )
    assert r.status_code == 403 and r.get_json()["code"] == "insufficient_scope"
    plain = writer.post(
        "/users", json={"email": "y@a.cn", "display_name": "Y", "password": "Staff-pass-123"}
    )
    assert plain.status_code == 201
    escalate = writer.patch(f"/users/{plain.get_json()['id']}", json={"roles": ["tenant_admin"]})
    assert escalate.status_code == 403


def test_the_last_admin_keeps_the_admin_role(api_a: ApiClient, tenant_a) -> None:
    r = api_a.patch(f"/users/{tenant_a.admin_user_id}", json={"roles": ["auditor"]})
    assert r.status_code == 422
    assert api_a.get(f"/users/{tenant_a.admin_user_id}").get_json()["roles"] == ["tenant_admin"]


def test_an_auditor_reads_the_log_but_cannot_export_or_manage(
    app: Flask, api_a: ApiClient, tenant_a
) -> None:
    _staff(api_a, "audit@a.cn", ["auditor"])
    client = app.test_client()
    _sign_in(client, tenant_a.slug, "audit@a.cn")
    assert client.get(f"/t/{tenant_a.slug}/admin/audit").status_code == 200
    assert client.get(f"/t/{tenant_a.slug}/admin/audit/export.csv").status_code == 403
    assert client.get(f"/t/{tenant_a.slug}/admin/users").status_code == 200
    assert client.get(f"/t/{tenant_a.slug}/admin/users/new").status_code == 403
    for page in ("roles", "api-clients", "plugins", "jobs"):
        assert client.get(f"/t/{tenant_a.slug}/admin/{page}").status_code == 403
    home = client.get(f"/t/{tenant_a.slug}/").get_data(as_text=True)
    nav = home[home.index('id="main-nav"') : home.index("</nav>")]
    assert "操作日志" in nav and "角色与权限" not in nav and "API 客户端" not in nav


def test_managing_staff_is_not_giving_them_roles(app: Flask, api_a: ApiClient, tenant_a) -> None:
    api_a.post(
        "/roles",
        json={
            "key": "hr",
            "name_zh": "人事",
            "name_en": "HR",
            "permissions": ["users.read", "users.write"],
        },
    )
    _staff(api_a, "hr@a.cn", ["hr"])
    target = _staff(api_a, "new@a.cn", [])
    client = app.test_client()
    _sign_in(client, tenant_a.slug, "hr@a.cn")
    page = f"/t/{tenant_a.slug}/admin/users/{target['id']}"
    token = csrf_from(client, page)
    renamed = client.post(page, data={"csrf_token": token, "display_name": "新同事"})
    assert renamed.status_code == 302
    promote = client.post(
        page, data={"csrf_token": token, "display_name": "新同事", "roles": ["tenant_admin"]}
    )
    assert promote.status_code == 403
    assert api_a.get(f"/users/{target['id']}").get_json()["roles"] == []


def test_the_admin_edits_a_role_in_the_web_ui(client, tenant_a) -> None:
    from tests.helpers import web_login

    web_login(client, tenant_a)
    page = f"/t/{tenant_a.slug}/admin/roles"
    assert "催收员" in client.get(page).get_data(as_text=True)
    token = csrf_from(client, f"{page}/new")
    bad = client.post(
        f"{page}/new", data={"csrf_token": token, "key": "x", "name_zh": "", "name_en": "X"}
    )
    assert bad.status_code == 422 and "field-error" in bad.get_data(as_text=True)
    ok = client.post(
        f"{page}/new",
        data={
            "csrf_token": token,
            "key": "reviewer",
            "name_zh": "复核员",
            "name_en": "Reviewer",
            "permissions": ["users.read"],
        },
    )
    assert ok.status_code == 302
    assert "复核员" in client.get(page).get_data(as_text=True)


@pytest.mark.usefixtures("hello_distribution")
def test_enabling_a_plugin_gives_built_in_roles_its_default_permissions(api_a) -> None:
    roles = {r["key"]: r for r in api_a.get("/roles").get_json()}
    assert "hello.greet" not in roles["credit_officer"]["permissions"]
    r = api_a.client.put(
        "/api/v1/plugins/hello",
        json={"enabled": True, "settings": {"greeting": "hi"}},
        headers={"Authorization": f"Bearer {api_a.token}"},
    )
    assert r.status_code == 200
    roles = {r["key"]: r for r in api_a.get("/roles").get_json()}
    assert "hello.greet" in roles["credit_officer"]["permissions"]
    assert "hello.greet" not in roles["collector"]["permissions"]
    assert "hello.greet" in {p["name"] for p in api_a.get("/permissions").get_json()}
