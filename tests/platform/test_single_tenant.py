"""Single-tenant mode (``LOANDESK_SINGLE_TENANT``): the firm's pages without the ``/t/<slug>``
prefix, old addresses redirected, no public sign-up, other tenants' tokens refused, and a clear
503 until the tenant exists.

The tenants are made by the multi-tenant ``app`` (through sign-up, as everywhere in the suite);
the single-tenant app then serves the same database, as a private install does after
``loandesk tenant create``."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from loandesk.app import create_app
from loandesk.cli import cli
from loandesk.settings import Settings, SettingsError
from tests.helpers import ApiClient, TenantFixture, fetch_token

# Every address a page can lead to: links, forms, htmx requests, scripts and styles.
ADDRESS = re.compile(r'\s(?:href|action|src|hx-(?:get|post|put|patch|delete))="([^"]*)"')


@contextmanager
def _single_app(settings: Settings, slug: str) -> Iterator[Flask]:
    app = create_app(settings.replace(single_tenant=slug))
    app.testing = True
    try:
        yield app
    finally:
        app.extensions["loandesk"].db.dispose()


@pytest.fixture
def single(settings: Settings, tenant_a: TenantFixture, tenant_b: TenantFixture) -> Iterator[Flask]:
    """An install for tenant A alone, on the database that also holds tenant B."""
    with _single_app(settings, tenant_a.slug) as app:
        yield app


@pytest.fixture
def web(single: Flask) -> FlaskClient:
    return single.test_client()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _addresses(html: str) -> list[str]:
    found = ADDRESS.findall(html)
    assert found, "the page has no links"
    return found


def _no_prefix(html: str) -> None:
    prefixed = [a for a in _addresses(html) if a.startswith("/t/") or "/t/tenant-" in a]
    assert prefixed == []


def _sign_in(web: FlaskClient, tenant: TenantFixture) -> None:
    page = web.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    _no_prefix(html)
    signed = web.post(
        "/login",
        data={
            "email": tenant.admin_email,
            "password": tenant.admin_password,
            "csrf_token": _csrf(html),
        },
    )
    assert signed.status_code == 302 and signed.location == "/"


# --- the setting ---------------------------------------------------------------------------


def test_the_setting_is_a_tenant_slug_checked_at_start_up(tmp_path) -> None:
    assert Settings(instance_path=tmp_path).single_tenant == ""
    env = {"LOANDESK_INSTANCE_PATH": str(tmp_path), "LOANDESK_SINGLE_TENANT": "xingye"}
    assert Settings.from_env(env).single_tenant == "xingye"
    for bad in ("Xingye", "xy", "/t/xingye", "xing--ye", "admin"):
        with pytest.raises(SettingsError, match="LOANDESK_SINGLE_TENANT"):
            Settings.from_env({**env, "LOANDESK_SINGLE_TENANT": bad})


# --- pages without the prefix ----------------------------------------------------------------


def test_sign_in_pages_and_a_form_work_without_the_prefix(
    single: Flask, web: FlaskClient, tenant_a: TenantFixture
) -> None:
    first = web.get("/")  # the home page sends a stranger to the firm's sign-in page
    assert first.status_code == 302 and first.location.startswith("/login")
    _sign_in(web, tenant_a)
    home = web.get("/").get_data(as_text=True)
    assert "tenant-a 小贷" in home
    _no_prefix(home)

    api = ApiClient(web, tenant_a.token)  # the firm's own token works as before
    for plugin in ("customers", "repayment"):
        assert api.put(f"/plugins/{plugin}", json={"enabled": True}).status_code == 200
    loans = web.get("/loans/")
    assert loans.status_code == 200
    _no_prefix(loans.get_data(as_text=True))
    fragment = web.get("/admin/users", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)

    form = web.get("/admin/users/new").get_data(as_text=True)
    _no_prefix(form)
    refused = web.post("/admin/users/new", data={"email": "li@a.cn", "display_name": "李四"})
    assert refused.status_code == 400  # no CSRF token
    invited = web.post(
        "/admin/users/new",
        data={"csrf_token": _csrf(form), "email": "li@a.cn", "display_name": "李四"},
    )
    assert invited.status_code == 200
    link = re.search(r"http://loandesk\.test(/[\w/-]+)", invited.get_data(as_text=True))
    assert link and re.fullmatch(r"/invite/[\w-]+", link.group(1))
    assert web.get(link.group(1)).status_code == 200  # the invitee's page, signed in or not

    out = web.post("/logout", data={"csrf_token": _csrf(home)})
    assert out.status_code == 302 and web.get("/").status_code == 302


def test_links_built_outside_url_for_have_no_prefix(single: Flask, tenant_a) -> None:
    from loandesk.auth import users
    from loandesk.connectors.helpers import staff_page_url
    from loandesk.security.links import public_url
    from loandesk.tenancy import service, use
    from loandesk.tenancy.paths import page_url

    with single.app_context():
        ext = single.extensions["loandesk"]
        with ext.db.transaction() as session:
            ref = service.get_by_slug(session, tenant_a.slug).ref()
        base = "http://loandesk.test"
        assert page_url(tenant_a.slug, "/sso/callback") == f"{base}/sso/callback"
        assert users.invitation_url(base, tenant_a.slug, "abc") == f"{base}/invite/abc"
        # plugins still write /t/<slug>/... (contracts' borrower links): the prefix goes
        assert public_url(f"/t/{tenant_a.slug}/contracts/b/x") == f"{base}/contracts/b/x"
        assert public_url("/t/tenant-b/x") == f"{base}/t/tenant-b/x"  # not ours: untouched
        with use(ref):
            assert staff_page_url("todo", None) == f"{base}/todos/"


def test_every_page_route_is_at_the_top_once(single: Flask) -> None:
    """No tenant page collides with an address of the install (/api, /oauth, /static, ...),
    and the provider callbacks (SMS receipts) are prefix-less too."""
    seen: Counter[tuple[str, str]] = Counter()
    for rule in single.url_map.iter_rules():
        assert "tenant_slug" not in rule.arguments
        if not rule.build_only:
            methods = (rule.methods or set()) - {"HEAD", "OPTIONS"}  # added to every rule
            seen.update((rule.rule, method) for method in methods)
    assert [key for key, count in seen.items() if count > 1] == []
    paths = {rule.rule for rule in single.url_map.iter_rules()}
    assert {"/sms-aliyun/receipts/<token>", "/sms-tencent/receipts/<token>"} <= paths
    assert {"/login", "/", "/api/v1/users", "/healthz"} <= paths


# --- old addresses, sign-up, tokens ----------------------------------------------------------


def test_old_addresses_redirect_for_the_firm_and_404_for_others(web: FlaskClient) -> None:
    login = web.get("/t/tenant-a/login?next=%2Floans%2F")
    assert login.status_code == 308 and login.location == "/login?next=%2Floans%2F"
    assert web.get("/t/tenant-a/").location == "/"
    assert web.get("/t/tenant-a/reports/a%3Fb%20c").location == "/reports/a%3Fb%20c"
    posted = web.post("/t/tenant-a/sms-aliyun/receipts/abc", json=[])  # a provider's callback
    assert posted.status_code == 308 and posted.location == "/sms-aliyun/receipts/abc"
    followed = web.get("/t/tenant-a/login", follow_redirects=True)
    assert followed.status_code == 200 and followed.request.path == "/login"
    for other in ("/t/tenant-b/login", "/t/tenant-b/", "/t/nobody/loans/"):
        assert web.get(other).status_code == 404
    # "/\evil.example" is another site to a browser; "//" is merged into "/" first
    assert web.get("/t/tenant-a/%5Cevil.example").status_code == 404
    merged = web.get("/t/tenant-a//evil.example", follow_redirects=True)
    assert merged.request.host == "localhost" and merged.request.path == "/evil.example"


def test_sign_up_is_off(single: Flask, web: FlaskClient) -> None:
    assert web.get("/signup").status_code == 404
    token = _csrf(web.get("/login").get_data(as_text=True))
    form = {"csrf_token": token, "name": "X", "slug": "xingye", "admin_email": "a@x.cn"}
    assert web.post("/signup", data={**form, "admin_password": "Strong-pass-88"}).status_code == 404
    body = {"name": "X", "slug": "xingye", "admin_email": "a@x.cn", "admin_password": "Pw-12345"}
    api = web.post("/api/v1/signup", json=body)
    assert api.status_code == 403 and api.get_json()["code"] == "sign_up_off"
    from loandesk.tenancy import service

    with single.app_context(), single.extensions["loandesk"].db.transaction() as session:
        assert service.find_by_slug(session, "xingye") is None


def test_a_token_or_client_of_another_tenant_is_refused(
    web: FlaskClient, tenant_a: TenantFixture, tenant_b: TenantFixture
) -> None:
    assert ApiClient(web, tenant_a.token).get("/users").status_code == 200
    other = ApiClient(web, tenant_b.token).get("/users")
    assert other.status_code == 401 and other.get_json()["code"] == "invalid_token"
    assert fetch_token(web, tenant_a.client_id, tenant_a.client_secret).status_code == 200
    assert fetch_token(web, tenant_b.client_id, tenant_b.client_secret).status_code == 401


# --- a tenant not set up yet -----------------------------------------------------------------


def test_a_missing_tenant_answers_503_until_the_cli_creates_it(
    settings: Settings, tenant_a: TenantFixture
) -> None:
    with _single_app(settings, "xingye") as app:
        web = app.test_client()
        page = web.get("/login")
        assert page.status_code == 503
        assert "loandesk tenant create --slug xingye" in page.get_data(as_text=True)
        fragment = web.get("/loans/", headers={"HX-Request": "true"})
        assert fragment.status_code == 503  # htmx: the message for the toast
        assert "loandesk tenant create" in fragment.get_json()["message"]
        api = ApiClient(web, tenant_a.token).get("/users")
        assert api.status_code == 503 and api.get_json()["code"] == "tenant_not_set_up"
        token = fetch_token(web, tenant_a.client_id, tenant_a.client_secret)
        assert token.status_code == 503 and token.get_json()["code"] == "tenant_not_set_up"
        assert web.get("/healthz").status_code == 200

        env = {
            "LOANDESK_DATABASE_URL": settings.database_url,
            "LOANDESK_MIGRATION_DATABASE_URL": settings.migration_database_url,
            "LOANDESK_INSTANCE_PATH": str(settings.instance_path),
            "LOANDESK_SINGLE_TENANT": "xingye",
        }
        create = ("tenant", "create", "--slug", "xingye", "--name", "兴业小贷")
        admin = ("--admin-email", "boss@xy.cn", "--admin-password", "Strong-pass-88")
        created = CliRunner().invoke(cli, [*create, *admin], env=env)
        assert created.exit_code == 0, created.output
        html = web.get("/login").get_data(as_text=True)
        signed = web.post(
            "/login",
            data={"email": "boss@xy.cn", "password": "Strong-pass-88", "csrf_token": _csrf(html)},
        )
        assert signed.status_code == 302 and "兴业小贷" in web.get("/").get_data(as_text=True)
