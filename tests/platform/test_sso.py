"""Single sign-on with OpenID Connect, against a real provider (authlib's server components)
running on localhost: LoanDesk's Flask test client on one side, real HTTP to the provider on the
other. Acceptance: the round trip signs staff in with mapped roles; claims that map to no role
are refused."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from joserfc.jwk import RSAKey
from sqlalchemy import select

from loandesk.audit.models import AuditEvent
from loandesk.auth.models import User
from loandesk.auth.sso_models import SsoConfig, UserIdentity
from loandesk.tenancy import service, use
from tests.helpers import TenantFixture, csrf_from, web_login
from tests.platform.oidc_provider import Provider

BASE_URL = "http://loandesk.test"  # the test settings' base_url


@pytest.fixture(autouse=True)
def english(app: Flask, tenant_a: TenantFixture) -> None:
    """Tenant A's pages in English, so that the assertions read the message ids."""
    from loandesk.tenancy.models import Tenant

    ext = app.extensions["loandesk"]
    with app.app_context(), ext.db.transaction() as session:
        session.get(Tenant, uuid.UUID(tenant_a.id)).locale = "en"  # type: ignore[union-attr]


@pytest.fixture
def provider() -> Iterator[Provider]:
    running = Provider().start()
    try:
        yield running
    finally:
        running.stop()


def _put(api: Any, body: dict[str, Any]) -> Any:
    return api.client.put(
        "/api/v1/sso", json=body, headers={"Authorization": f"Bearer {api.token}"}
    )


def _setup(api: Any, tenant: TenantFixture, provider: Provider, **overrides: Any) -> dict[str, Any]:
    client = provider.add_client(f"{BASE_URL}/t/{tenant.slug}/sso/callback")
    body = {
        "issuer": provider.issuer,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "display_name": "Keycloak",
        "role_claim": "groups",
        "role_mapping": {"loan-officers": ["credit_officer"], "auditors": ["auditor"]},
        "provision_users": True,
        "enabled": True,
        **overrides,
    }
    response = _put(api, body)
    assert response.status_code == 200, response.get_json()
    return body


def _round_trip(web: Any, tenant: TenantFixture, next_page: str | None = None) -> Any:
    """Sign-in button → provider (real HTTP; it approves at once) → LoanDesk's callback."""
    start = web.get(
        f"/t/{tenant.slug}/sso/login", query_string={"next": next_page} if next_page else None
    )
    assert start.status_code == 302, start.get_data(as_text=True)
    answer = requests.get(start.location, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}" == BASE_URL
    assert back.path == f"/t/{tenant.slug}/sso/callback"
    return web.get(f"{back.path}?{back.query}")


def _in_tenant(app: Flask, slug: str, fn: Any) -> Any:
    db = app.extensions["loandesk"].db
    with app.app_context(), db.transaction() as session:
        ref = service.get_by_slug(session, slug).ref()
    with app.app_context(), use(ref), db.transaction() as session:
        return fn(session)


def _user(app: Flask, slug: str, email: str) -> dict[str, Any] | None:
    def read(session: Any) -> dict[str, Any] | None:
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            return None
        links = session.scalars(select(UserIdentity).where(UserIdentity.user_id == user.id))
        return {
            "id": str(user.id),
            "status": user.status,
            "roles": sorted(r.key for r in user.roles),
            "links": [(link.issuer, link.subject) for link in links],
        }

    return _in_tenant(app, slug, read)


def _events(app: Flask, slug: str, action: str) -> list[dict[str, Any]]:
    def read(session: Any) -> list[dict[str, Any]]:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
        return [{"record_id": e.record_id, **e.diff} for e in rows]

    return _in_tenant(app, slug, read)


def _signed_in(web: Any, tenant: TenantFixture) -> bool:
    return web.get(f"/t/{tenant.slug}/").status_code == 200


# --- the round trip ----------------------------------------------------------------------------


def test_round_trip_signs_in_with_pkce_and_nonce_and_maps_roles(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    _setup(api_a, tenant_a, provider)
    provider.add_user(
        "kc-1001",
        email="li.na@tenant-a.example.cn",
        email_verified=True,
        name="李娜",
        groups=["loan-officers", "auditors", "staff"],
    )
    provider.sign_in_as = "kc-1001"
    login_page = client.get(f"/t/{tenant_a.slug}/login").get_data(as_text=True)
    assert "Keycloak" in login_page and f"/t/{tenant_a.slug}/sso/login" in login_page

    done = _round_trip(client, tenant_a, next_page=f"/t/{tenant_a.slug}/account")
    assert done.status_code == 302 and done.location.endswith(f"/t/{tenant_a.slug}/account")
    assert _signed_in(client, tenant_a)
    sent = provider.authorize_requests[-1]
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) >= 43
    assert sent["nonce"] and sent["state"] and "openid" in sent["scope"].split()

    user = _user(app, tenant_a.slug, "li.na@tenant-a.example.cn")
    assert user is not None and user["status"] == "active"
    assert user["roles"] == ["auditor", "credit_officer"]
    assert user["links"] == [(provider.issuer, "kc-1001")]
    sign_in = _events(app, tenant_a.slug, "user.sign_in")[-1]
    assert sign_in["method"] == "oidc" and sign_in["record_id"] == user["id"]
    assert _events(app, tenant_a.slug, "user.create")[-1]["method"] == "oidc"

    # The provider moves her to another group: her roles follow at the next sign-in, audited.
    token = csrf_from(client, f"/t/{tenant_a.slug}/")
    client.post(f"/t/{tenant_a.slug}/logout", data={"csrf_token": token})
    assert not _signed_in(client, tenant_a)
    provider.users["kc-1001"].claims["groups"] = ["auditors"]
    assert _round_trip(client, tenant_a).status_code == 302
    assert _user(app, tenant_a.slug, "li.na@tenant-a.example.cn")["roles"] == ["auditor"]
    change = _events(app, tenant_a.slug, "user.roles")[-1]
    assert change["roles"] == [["auditor", "credit_officer"], ["auditor"]]


def test_sso_sign_in_rotates_the_session_like_a_password_sign_in(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    from loandesk.web.sessions import COOKIE_NAME

    _setup(api_a, tenant_a, provider)
    provider.add_user(
        "kc-1", email="a@tenant-a.example.cn", email_verified=True, groups=["auditors"], locale="en"
    )
    provider.sign_in_as = "kc-1"
    start = client.get(f"/t/{tenant_a.slug}/sso/login")
    before = client.get_cookie(COOKIE_NAME).value
    answer = requests.get(start.location, allow_redirects=False, timeout=10)
    back = urlsplit(answer.headers["Location"])
    assert client.get(f"{back.path}?{back.query}").status_code == 302
    assert client.get_cookie(COOKIE_NAME).value != before
    # the same session keys as a password sign-in: language from the provider's locale
    home = client.get(f"/t/{tenant_a.slug}/")
    assert home.status_code == 200 and 'lang="en"' in home.get_data(as_text=True)


def test_claims_that_map_to_no_role_are_refused(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    _setup(api_a, tenant_a, provider)
    provider.add_user(
        "kc-2", email="intern@tenant-a.example.cn", email_verified=True, groups=["interns"]
    )
    provider.sign_in_as = "kc-2"
    refused = _round_trip(client, tenant_a)
    assert refused.status_code == 403
    assert "no group or role that gives access" in refused.get_data(as_text=True)
    assert not _signed_in(client, tenant_a)
    assert _user(app, tenant_a.slug, "intern@tenant-a.example.cn") is None  # nothing created
    failed = _events(app, tenant_a.slug, "user.sign_in_failed")[-1]
    assert failed["reason"] == "no_role" and failed["method"] == "oidc"
    assert failed["claim_values"] == ["interns"]


def test_an_existing_user_without_a_mapped_role_is_refused_and_keeps_their_roles(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    _setup(api_a, tenant_a, provider)
    created = api_a.post(
        "/users",
        json={
            "email": "wang@tenant-a.example.cn",
            "display_name": "王伟",
            "password": "Correct-horse-42",
            "roles": ["finance"],
        },
    )
    assert created.status_code == 201, created.get_json()
    provider.add_user("kc-3", email="wang@tenant-a.example.cn", email_verified=True, groups=[])
    provider.sign_in_as = "kc-3"
    assert _round_trip(client, tenant_a).status_code == 403
    user = _user(app, tenant_a.slug, "wang@tenant-a.example.cn")
    assert user["roles"] == ["finance"] and user["links"] == []  # nothing changed


@pytest.mark.parametrize(
    ("forge", "error"),
    [
        pytest.param(
            lambda p, t: p.resign(t, nonce="not-the-nonce-we-sent"),
            "InvalidClaimError: invalid_claim: Invalid claim: 'nonce'",
            id="wrong-nonce",
        ),
        pytest.param(
            lambda p, t: p.alter_payload(t, sub="kc-admin", email="admin@tenant-a.example.cn"),
            "BadSignatureError",
            id="tampered",
        ),
        pytest.param(
            lambda p, t: p.resign(t, key=RSAKey.generate_key(2048, parameters={"kid": "test-1"})),
            "BadSignatureError",
            id="foreign-key",
        ),
        pytest.param(
            lambda p, t: p.resign(t, aud=["someone-else"]),
            "InvalidClaimError: invalid_claim: Invalid claim: 'aud'",
            id="other-audience",
        ),
        pytest.param(
            lambda p, t: p.resign(t, iss="https://evil.example"),
            "InvalidClaimError: invalid_claim: Invalid claim: 'iss'",
            id="other-issuer",
        ),
        pytest.param(
            lambda p, t: p.resign(t, exp=1_000_000_000), "ExpiredTokenError", id="expired"
        ),
    ],
)
def test_forged_or_misdirected_id_tokens_are_refused(
    app: Flask, client, tenant_a, api_a, provider, forge, error
) -> None:
    _setup(api_a, tenant_a, provider)
    # Untouched, this token signs her in: the last lines of the test show it.
    provider.add_user(
        "kc-4", email="zhao@tenant-a.example.cn", email_verified=True, groups=["auditors"]
    )
    provider.sign_in_as = "kc-4"
    provider.rewrite_id_token = lambda token: forge(provider, token)
    refused = _round_trip(client, tenant_a)
    assert refused.status_code == 403
    assert "could not be verified" in refused.get_data(as_text=True)
    assert not _signed_in(client, tenant_a)
    assert _user(app, tenant_a.slug, "zhao@tenant-a.example.cn") is None
    failed = _events(app, tenant_a.slug, "user.sign_in_failed")[-1]
    assert failed["reason"] == "invalid_token" and failed["error"].startswith(error)
    provider.rewrite_id_token = None
    assert _round_trip(client, tenant_a).status_code == 302


def test_a_callback_not_started_in_this_browser_is_refused(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    _setup(api_a, tenant_a, provider)
    provider.add_user(
        "kc-5", email="x@tenant-a.example.cn", email_verified=True, groups=["auditors"]
    )
    provider.sign_in_as = "kc-5"
    start = client.get(f"/t/{tenant_a.slug}/sso/login")
    answer = requests.get(start.location, allow_redirects=False, timeout=10)
    back = urlsplit(answer.headers["Location"])
    other_browser = app.test_client()
    refused = other_browser.get(f"{back.path}?{back.query}")
    assert refused.status_code == 400
    assert not _signed_in(other_browser, tenant_a)
    # and a state is good once: the first browser finishes, a replay is refused
    assert client.get(f"{back.path}?{back.query}").status_code == 302
    replay = app.test_client()
    assert replay.get(f"{back.path}?{back.query}").status_code == 400


def test_the_provider_refusing_is_shown_and_audited(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    _setup(api_a, tenant_a, provider)
    provider.sign_in_as = None  # nobody signs in at the provider: it answers access_denied
    refused = _round_trip(client, tenant_a)
    assert refused.status_code == 403
    failed = _events(app, tenant_a.slug, "user.sign_in_failed")[-1]
    assert failed["reason"] == "provider_error" and failed["error"] == "access_denied"


# --- finding the user --------------------------------------------------------------------------


def test_an_existing_user_is_linked_by_verified_email(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    mapping = {"admins": ["tenant_admin"], "auditors": ["auditor"]}
    _setup(api_a, tenant_a, provider, provision_users=False, role_mapping=mapping)
    provider.add_user(
        "kc-admin", email=tenant_a.admin_email.upper(), email_verified=True, groups=["admins"]
    )
    provider.sign_in_as = "kc-admin"
    assert _round_trip(client, tenant_a).status_code == 302
    admin = _user(app, tenant_a.slug, tenant_a.admin_email)
    assert admin["id"] == tenant_a.admin_user_id and admin["roles"] == ["tenant_admin"]
    assert admin["links"] == [(provider.issuer, "kc-admin")]
    link = _events(app, tenant_a.slug, "user.identity_link")[-1]
    assert link["by"] == "email" and link["subject"] == "kc-admin"

    # Later the link decides, whatever the e-mail at the provider becomes.
    token = csrf_from(client, f"/t/{tenant_a.slug}/")
    client.post(f"/t/{tenant_a.slug}/logout", data={"csrf_token": token})
    provider.users["kc-admin"].claims["email"] = "renamed@elsewhere.example"
    assert _round_trip(client, tenant_a).status_code == 302
    assert _events(app, tenant_a.slug, "user.sign_in")[-1]["record_id"] == tenant_a.admin_user_id


def _setup_body(provider: Provider, api: Any) -> dict[str, Any]:
    """The current configuration as a PUT body (the secret is kept when left out)."""
    current = api.get("/sso").get_json()
    keep = (
        "issuer",
        "client_id",
        "display_name",
        "scopes",
        "role_claim",
        "role_mapping",
        "provision_users",
        "password_sign_in",
        "enabled",
    )
    return {k: current[k] for k in keep}


def test_an_unverified_email_neither_links_nor_provisions(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    _setup(api_a, tenant_a, provider, provision_users=False)
    provider.add_user("kc-6", email=tenant_a.admin_email, email_verified=False, groups=["auditors"])
    provider.sign_in_as = "kc-6"
    refused = _round_trip(client, tenant_a)
    assert refused.status_code == 403
    assert _user(app, tenant_a.slug, tenant_a.admin_email)["links"] == []
    assert _events(app, tenant_a.slug, "user.sign_in_failed")[-1]["reason"] == "no_account"

    assert _put(api_a, {**_setup_body(provider, api_a), "provision_users": True}).status_code == 200
    provider.add_user(
        "kc-7", email="new@tenant-a.example.cn", email_verified=False, groups=["auditors"]
    )
    provider.sign_in_as = "kc-7"
    assert _round_trip(client, tenant_a).status_code == 403
    assert _user(app, tenant_a.slug, "new@tenant-a.example.cn") is None
    assert _events(app, tenant_a.slug, "user.sign_in_failed")[-1]["reason"] == "email_unverified"


def test_with_provisioning_off_unknown_staff_are_refused(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    _setup(api_a, tenant_a, provider, provision_users=False)
    provider.add_user(
        "kc-8", email="stranger@tenant-a.example.cn", email_verified=True, groups=["loan-officers"]
    )
    provider.sign_in_as = "kc-8"
    refused = _round_trip(client, tenant_a)
    assert refused.status_code == 403
    assert "Ask your administrator to invite you" in refused.get_data(as_text=True)
    assert _user(app, tenant_a.slug, "stranger@tenant-a.example.cn") is None
    assert not _signed_in(client, tenant_a)


def test_a_deactivated_user_is_refused(app: Flask, client, tenant_a, api_a, provider) -> None:
    _setup(api_a, tenant_a, provider)
    provider.add_user(
        "kc-9", email="gone@tenant-a.example.cn", email_verified=True, groups=["auditors"]
    )
    provider.sign_in_as = "kc-9"
    assert _round_trip(client, tenant_a).status_code == 302
    user_id = _user(app, tenant_a.slug, "gone@tenant-a.example.cn")["id"]
    assert api_a.patch(f"/users/{user_id}", json={"status": "deactivated"}).status_code == 200
    other = app.test_client()
    refused = _round_trip(other, tenant_a)
    assert refused.status_code == 403 and "deactivated" in refused.get_data(as_text=True)
    assert not _signed_in(other, tenant_a)
    assert _events(app, tenant_a.slug, "user.sign_in_failed")[-1]["reason"] == "deactivated"


def test_an_invited_user_signs_in_through_the_provider(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    _setup(api_a, tenant_a, provider, provision_users=False)
    invited = api_a.post("/users", json={"email": "chen@tenant-a.example.cn", "display_name": "陈"})
    assert invited.status_code == 201 and invited.get_json()["status"] == "invited"
    provider.add_user(
        "kc-10", email="chen@tenant-a.example.cn", email_verified=True, groups=["loan-officers"]
    )
    provider.sign_in_as = "kc-10"
    assert _round_trip(client, tenant_a).status_code == 302
    user = _user(app, tenant_a.slug, "chen@tenant-a.example.cn")
    assert user["status"] == "active" and user["roles"] == ["credit_officer"]


def test_groups_only_in_userinfo_are_read_from_there(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    _setup(api_a, tenant_a, provider, role_claim="org.groups")
    provider.add_user(
        "kc-11", email="sun@tenant-a.example.cn", email_verified=True, org={"groups": ["auditors"]}
    )
    provider.id_token_leaves_out = ("org",)
    provider.sign_in_as = "kc-11"
    assert _round_trip(client, tenant_a).status_code == 302
    assert provider.userinfo_calls == 1
    assert _user(app, tenant_a.slug, "sun@tenant-a.example.cn")["roles"] == ["auditor"]


def test_the_last_admin_is_not_demoted_by_the_provider(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    _setup(api_a, tenant_a, provider)
    provider.add_user("kc-12", email=tenant_a.admin_email, email_verified=True, groups=["auditors"])
    provider.sign_in_as = "kc-12"
    refused = _round_trip(client, tenant_a)
    assert refused.status_code == 403
    assert _user(app, tenant_a.slug, tenant_a.admin_email)["roles"] == ["tenant_admin"]
    assert _events(app, tenant_a.slug, "user.sign_in_failed")[-1]["reason"] == "last_admin"


# --- password sign-in --------------------------------------------------------------------------


def test_password_sign_in_can_be_kept_for_admins_only(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    _setup(api_a, tenant_a, provider, password_sign_in=False)
    created = api_a.post(
        "/users",
        json={
            "email": "liu@tenant-a.example.cn",
            "display_name": "刘",
            "password": "Correct-horse-42",
            "roles": ["finance"],
        },
    )
    assert created.status_code == 201
    login = f"/t/{tenant_a.slug}/login"
    page = client.get(login).get_data(as_text=True)
    assert "Administrators may also sign in with their password" in page
    refused = client.post(
        login,
        data={
            "email": "liu@tenant-a.example.cn",
            "password": "Correct-horse-42",
            "csrf_token": csrf_from(client, login),
        },
    )
    assert refused.status_code == 401 and "single sign-on" in refused.get_data(as_text=True)
    assert not _signed_in(client, tenant_a)
    assert _events(app, tenant_a.slug, "user.sign_in_failed")[-1]["reason"] == "sso_only"
    assert web_login(client, tenant_a).status_code == 302  # the tenant admin still may


# --- configuration -----------------------------------------------------------------------------


def test_config_api_validates_and_changes_nothing_when_invalid(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    bad = _put(
        api_a,
        {
            "issuer": "ftp://sso.example.cn",
            "client_id": "",
            "display_name": "",
            "scopes": "email profile",
            "role_claim": "groups..roles",
            "role_mapping": {"loan-officers": ["no_such_role"], "x": []},
            "enabled": True,
        },
    )
    assert bad.status_code == 422
    body = bad.get_json()
    assert body["code"] == "validation_error" and "no_such_role" in body["message"]
    assert set(body["errors"]) == {
        "issuer",
        "client_id",
        "client_secret",
        "display_name",
        "scopes",
        "role_claim",
        "role_mapping",
    }
    wrong_type = _put(api_a, {"issuer": provider.issuer, "enabled": "maybe"})
    assert wrong_type.status_code == 422 and "enabled" in wrong_type.get_json()["errors"]
    assert api_a.get("/sso").status_code == 404  # nothing was stored
    assert _events(app, tenant_a.slug, "sso.configure") == []


def test_the_client_secret_is_stored_encrypted_and_never_returned(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    body = _setup(api_a, tenant_a, provider)
    secret = body["client_secret"]
    shown = api_a.get("/sso")
    assert shown.status_code == 200
    assert secret not in shown.get_data(as_text=True) and "client_secret" not in shown.get_json()
    assert shown.get_json()["client_secret_set"] is True
    assert shown.get_json()["redirect_uri"] == f"{BASE_URL}/t/{tenant_a.slug}/sso/callback"

    def stored(session: Any) -> str:
        return session.scalar(select(SsoConfig.client_secret))

    ciphertext = _in_tenant(app, tenant_a.slug, stored)
    assert ciphertext.startswith("pd1:") and secret not in ciphertext
    # a change without the secret keeps it (the round trip still authenticates at the provider)
    assert (
        _put(api_a, {**_setup_body(provider, api_a), "display_name": "企业 SSO"}).status_code == 200
    )
    assert _in_tenant(app, tenant_a.slug, stored) == ciphertext
    provider.add_user(
        "kc-13", email="q@tenant-a.example.cn", email_verified=True, groups=["auditors"]
    )
    provider.sign_in_as = "kc-13"
    assert _round_trip(client, tenant_a).status_code == 302
    configured = _events(app, tenant_a.slug, "sso.configure")
    assert configured[0]["client_secret"] == ["***", "***"]
    assert configured[1] == {
        "record_id": configured[0]["record_id"],
        "display_name": ["Keycloak", "企业 SSO"],
    }
    assert secret not in str(configured)
    assert api_a.get("/sso").get_json()["display_name"] == "企业 SSO"

    assert api_a.delete("/sso").status_code == 204
    assert api_a.get("/sso").status_code == 404
    assert client.get(f"/t/{tenant_a.slug}/sso/login").status_code == 404
    assert _events(app, tenant_a.slug, "sso.delete")[-1]["issuer"] == provider.issuer


def test_http_issuers_are_refused_outside_the_embedded_mode(settings, tenant_a, provider) -> None:
    from loandesk.app import create_app
    from tests.helpers import ApiClient

    production = settings.replace(env="production", secret_key="s" * 40, master_key="m" * 40)
    for allow, status in ((False, 422), (True, 200)):
        app = create_app(production.replace(sso_allow_http_issuer=allow))
        api = ApiClient(app.test_client(), tenant_a.token)
        client = provider.add_client(f"{BASE_URL}/t/{tenant_a.slug}/sso/callback")
        response = _put(
            api,
            {
                "issuer": provider.issuer,
                "client_id": client.client_id,
                "client_secret": "s",
                "display_name": "SSO",
            },
        )
        assert response.status_code == status, response.get_json()
        if status == 422:
            assert list(response.get_json()["errors"]) == ["issuer"]
        app.extensions["loandesk"].db.dispose()


def test_discovery_test_reports_what_is_wrong(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    ok = api_a.post("/sso/discovery-test", json={"issuer": provider.issuer})
    assert ok.status_code == 200
    assert ok.get_json()["ok"] is True and ok.get_json()["signing_keys"] == 1
    assert ok.get_json()["token_endpoint"] == f"{provider.issuer}/token"
    mismatch = api_a.post("/sso/discovery-test", json={"issuer": f"{provider.issuer}/realms/x"})
    assert (
        mismatch.get_json()["ok"] is False
        and "answered with HTTP status 404" in mismatch.get_json()["message"]
    )
    unreachable = api_a.post("/sso/discovery-test", json={"issuer": "http://127.0.0.1:9"})
    assert (
        unreachable.get_json()["ok"] is False
        and "cannot be reached" in unreachable.get_json()["message"]
    )
    assert api_a.post("/sso/discovery-test", json={"issuer": "nonsense"}).status_code == 422
    assert api_a.post("/sso/discovery-test", json={}).status_code == 404  # nothing saved yet


# --- tenants apart -----------------------------------------------------------------------------


def test_tenant_b_cannot_use_tenant_a_configuration(
    app: Flask, client, tenant_a, tenant_b, api_a, api_b, provider
) -> None:
    _setup(api_a, tenant_a, provider)
    provider.add_user(
        "kc-14", email="li@tenant-a.example.cn", email_verified=True, groups=["auditors"]
    )
    provider.sign_in_as = "kc-14"
    assert api_b.get("/sso").status_code == 404
    assert client.get(f"/t/{tenant_b.slug}/sso/login").status_code == 404
    assert "/sso/login" not in client.get(f"/t/{tenant_b.slug}/login").get_data(as_text=True)

    # A sign-in started at tenant A and brought to tenant B's callback signs nobody in at B,
    # even when B has a configuration of its own at the same provider.
    _setup(api_b, tenant_b, provider)
    start = client.get(f"/t/{tenant_a.slug}/sso/login")
    answer = requests.get(start.location, allow_redirects=False, timeout=10)
    query = urlsplit(answer.headers["Location"]).query
    assert client.get(f"/t/{tenant_b.slug}/sso/callback?{query}").status_code == 400
    assert not _signed_in(client, tenant_b) and not _signed_in(client, tenant_a)
    assert _user(app, tenant_b.slug, "li@tenant-a.example.cn") is None
    # and A's sign-in gives no session at B
    assert _round_trip(client, tenant_a).status_code == 302
    assert _signed_in(client, tenant_a) and not _signed_in(client, tenant_b)


# --- the admin page ----------------------------------------------------------------------------


def test_admin_page_saves_with_field_errors_and_tests_discovery(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    page = f"/t/{tenant_a.slug}/admin/sso"
    web_login(client, tenant_a)
    shown = client.get(page)
    assert shown.status_code == 200
    assert f"{BASE_URL}/t/{tenant_a.slug}/sso/callback" in shown.get_data(as_text=True)
    token = csrf_from(client, page)
    form = {
        "csrf_token": token,
        "display_name": "Keycloak",
        "issuer": provider.issuer,
        "client_id": "loandesk",
        "client_secret": "top-secret-value",
        "scopes": "openid email",
        "role_claim": "realm_access.roles",
        "role_mapping": "loan-officers = credit_officer\nno equals sign here\n",
        "enabled": "on",
    }
    bad = client.post(page, data=form)
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert re.search(
        r'id="f-role_mapping-error">\s*<div class="field-error">Write one mapping', html
    )
    assert "top-secret-value" not in html
    good = client.post(
        page, data={**form, "role_mapping": "loan-officers = credit_officer, auditor"}
    )
    assert good.status_code == 302
    saved = api_a.get("/sso").get_json()
    assert saved["role_mapping"] == {"loan-officers": ["auditor", "credit_officer"]}
    assert saved["password_sign_in"] is False and saved["enabled"] is True
    assert "top-secret-value" not in client.get(page).get_data(as_text=True)

    tested = client.post(
        f"{page}/test",
        data={"csrf_token": token, "issuer": provider.issuer},
        headers={"HX-Request": "true"},
    )
    assert tested.status_code == 200 and "with 1 signing key." in tested.get_data(as_text=True)
    failed = client.post(
        f"{page}/test",
        data={"csrf_token": token, "issuer": "http://127.0.0.1:9"},
        headers={"HX-Request": "true"},
    )
    assert "cannot be reached" in failed.get_data(as_text=True)

    removed = client.post(f"{page}/delete", data={"csrf_token": token})
    assert removed.status_code == 302 and api_a.get("/sso").status_code == 404


def test_only_tenant_admins_reach_the_admin_page(app: Flask, client, tenant_a, api_a) -> None:
    api_a.post(
        "/users",
        json={
            "email": "auditor@tenant-a.example.cn",
            "display_name": "审计",
            "password": "Correct-horse-42",
            "roles": ["auditor", "risk_manager"],
        },
    )
    login = f"/t/{tenant_a.slug}/login"
    client.post(
        login,
        data={
            "email": "auditor@tenant-a.example.cn",
            "password": "Correct-horse-42",
            "csrf_token": csrf_from(client, login),
        },
    )
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200
    assert client.get(f"/t/{tenant_a.slug}/admin/sso").status_code == 403
    assert "/admin/sso" not in client.get(f"/t/{tenant_a.slug}/").get_data(as_text=True)


def test_role_mapping_lines_are_parsed() -> None:
    from loandesk.web.sso_views import parse_mapping

    text = "# comment\nCN=Loans,OU=Staff = credit_officer\n\n a = b , c\n"
    mapping, problems = parse_mapping(text)
    assert mapping == {"CN=Loans,OU=Staff": ["credit_officer"], "a": ["b", "c"]}
    assert problems == []
    assert parse_mapping("x =\n= y")[1] != []


def test_the_shell_turns_single_sign_on_off_when_the_provider_is_gone(
    app: Flask, settings, client, tenant_a, api_a, provider
) -> None:
    from click.testing import CliRunner

    from loandesk.cli import cli

    body = _setup(api_a, tenant_a, provider, password_sign_in=False)
    env = {
        "LOANDESK_DATABASE_URL": settings.database_url,
        "LOANDESK_MIGRATION_DATABASE_URL": settings.migration_database_url,
        "LOANDESK_INSTANCE_PATH": str(settings.instance_path),
    }
    shown = CliRunner().invoke(cli, ["sso", "show", "--tenant", tenant_a.slug], env=env)
    assert shown.exit_code == 0, shown.output
    assert '"enabled": true' in shown.output and body["client_secret"] not in shown.output
    off = CliRunner().invoke(cli, ["sso", "disable", "--tenant", tenant_a.slug], env=env)
    assert off.exit_code == 0, off.output
    settings_now = api_a.get("/sso").get_json()
    assert settings_now["enabled"] is False and settings_now["password_sign_in"] is True
    assert _events(app, tenant_a.slug, "sso.configure")[-1]["enabled"] == [True, False]
    assert client.get(f"/t/{tenant_a.slug}/sso/login").status_code == 404
    missing = CliRunner().invoke(cli, ["sso", "show", "--tenant", "no-such-tenant"], env=env)
    assert missing.exit_code != 0


def test_a_sign_in_left_too_long_at_the_provider_is_refused(
    app: Flask, client, tenant_a, api_a, provider, monkeypatch
) -> None:
    from loandesk.web import sso_views

    _setup(api_a, tenant_a, provider)
    provider.add_user(
        "kc-15", email="slow@tenant-a.example.cn", email_verified=True, groups=["auditors"]
    )
    provider.sign_in_as = "kc-15"
    monkeypatch.setattr(sso_views, "SIGN_IN_TIMEOUT", -1)  # every answer comes too late
    assert _round_trip(client, tenant_a).status_code == 400
    assert not _signed_in(client, tenant_a)
    monkeypatch.setattr(sso_views, "SIGN_IN_TIMEOUT", 600)
    assert _round_trip(client, tenant_a).status_code == 302


def test_a_role_deleted_after_mapping_is_skipped(
    app: Flask, client, tenant_a, api_a, provider
) -> None:
    role = api_a.post(
        "/roles", json={"key": "branch_manager", "name_zh": "分公司经理", "name_en": "Branch"}
    )
    assert role.status_code == 201
    mapping = {"managers": ["branch_manager", "auditor"]}
    _setup(api_a, tenant_a, provider, role_mapping=mapping)
    assert api_a.delete(f"/roles/{role.get_json()['id']}").status_code == 204
    provider.add_user(
        "kc-16", email="boss@tenant-a.example.cn", email_verified=True, groups=["managers"]
    )
    provider.sign_in_as = "kc-16"
    assert _round_trip(client, tenant_a).status_code == 302
    assert _user(app, tenant_a.slug, "boss@tenant-a.example.cn")["roles"] == ["auditor"]
