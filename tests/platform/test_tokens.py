"""Acceptance: a token expired, revoked, of another tenant, or missing a scope is refused with
401/403 JSON; every /api/v1 endpoint but sign-up needs a token."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import update

from loandesk.auth.clients import digest
from loandesk.auth.models import ApiToken
from loandesk.db import utcnow
from loandesk.tenancy import service, use
from tests.helpers import ApiClient, fetch_token


def _assert_json_error(response, status: int, code: str) -> None:
    assert response.status_code == status
    body = response.get_json()
    assert body["code"] == code and body["message"] and "errors" in body


def test_every_api_endpoint_but_signup_needs_a_token(app: Flask, client) -> None:
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")]
    assert len(rules) >= 4
    for rule in rules:
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            path = re.sub(r"<uuid:\w+>", "0" * 8 + "-0000-7000-8000-" + "0" * 12, rule.rule)
            path = re.sub(r"<int:\w+>", "1", path)
            path = re.sub(r"<(?:string:)?\w+>", "x", path)
            response = client.open(path, method=method, json={})
            if rule.rule == "/api/v1/signup":
                assert response.status_code == 422
                continue
            _assert_json_error(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"].lower().startswith("bearer")


def test_valid_token_works(api_a: ApiClient) -> None:
    assert api_a.get("/users").status_code == 200


def test_expired_token_is_refused(app: Flask, api_a: ApiClient, tenant_a) -> None:
    db = app.extensions["loandesk"].db
    with app.app_context(), db.transaction() as session:
        with use(service.get_by_slug(session, tenant_a.slug).ref()):
            session.execute(
                update(ApiToken)
                .where(ApiToken.token_hash == digest(api_a.token))
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
    _assert_json_error(api_a.get("/users"), 401, "invalid_token")


def test_revoked_token_is_refused(client, api_a: ApiClient, tenant_a) -> None:
    import base64

    basic = base64.b64encode(f"{tenant_a.client_id}:{tenant_a.client_secret}".encode()).decode()
    response = client.post(
        "/oauth/revoke", data={"token": api_a.token}, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200
    _assert_json_error(api_a.get("/users"), 401, "invalid_token")


def test_revoking_the_client_revokes_its_tokens(client, api_a: ApiClient, tenant_a) -> None:
    other = api_a.post("/api-clients", json={"name": "partner", "scopes": ["users:read"]})
    assert other.status_code == 201
    created = other.get_json()
    token = fetch_token(client, created["client_id"], created["client_secret"]).get_json()
    partner = ApiClient(client, token["access_token"])
    assert partner.get("/users").status_code == 200
    assert api_a.delete(f"/api-clients/{created['id']}").status_code == 200
    _assert_json_error(partner.get("/users"), 401, "invalid_token")
    again = fetch_token(client, created["client_id"], created["client_secret"])
    assert again.status_code == 401 and again.get_json()["error"] == "invalid_client"


def test_token_of_another_tenant_is_refused(client, tenant_a, tenant_b) -> None:
    # A's secret under B's tenant id: the tenant part cannot be swapped.
    prefix, _tenant, secret = tenant_a.token.split("_", 2)
    forged = f"{prefix}_{tenant_b.id.replace('-', '')}_{secret}"
    _assert_json_error(ApiClient(client, forged).get("/users"), 401, "invalid_token")
    # A's client id with B's secret gets no token either.
    refused = fetch_token(client, tenant_a.client_id, tenant_b.client_secret)
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("garbage", ["", "ldt_", "ldt_zz_zz", "Basic abc", "x" * 500])
def test_malformed_tokens_are_refused(client, garbage: str) -> None:
    response = ApiClient(client, garbage).get("/users")
    assert response.status_code == 401 and response.is_json


def test_token_missing_a_scope_is_refused_with_403(client, api_a: ApiClient) -> None:
    created = api_a.post(
        "/api-clients", json={"name": "reader", "scopes": ["users:read"]}
    ).get_json()
    token = fetch_token(client, created["client_id"], created["client_secret"]).get_json()
    assert token["scope"] == "users:read"
    reader = ApiClient(client, token["access_token"])
    assert reader.get("/users").status_code == 200
    _assert_json_error(
        reader.post("/users", json={"email": "x@y.cn", "display_name": "X"}),
        403,
        "insufficient_scope",
    )
    _assert_json_error(reader.get("/api-clients"), 403, "insufficient_scope")


def test_token_scope_is_narrowed_to_the_clients_scopes(client, api_a: ApiClient) -> None:
    created = api_a.post("/api-clients", json={"name": "r", "scopes": ["users:read"]}).get_json()
    token = fetch_token(
        client, created["client_id"], created["client_secret"], scope="users:read users:write"
    ).get_json()
    assert token["scope"] == "users:read"
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600


def test_suspended_tenant_cannot_call_the_api(
    app: Flask, client, api_a: ApiClient, tenant_a
) -> None:
    with app.app_context(), app.extensions["loandesk"].db.transaction() as session:
        service.set_status(session, service.get_by_slug(session, tenant_a.slug), "suspended")
    _assert_json_error(api_a.get("/users"), 403, "tenant_suspended")
    refused = fetch_token(client, tenant_a.client_id, tenant_a.client_secret)
    assert refused.status_code == 401


def test_api_ignores_session_cookies(client, tenant_a) -> None:
    from tests.helpers import web_login

    assert web_login(client, tenant_a).status_code == 302
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200  # signed in on the web
    _assert_json_error(client.get("/api/v1/users"), 401, "unauthorized")
