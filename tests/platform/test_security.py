"""Sign-in hardening: security headers, rate limits (database and Redis counters), the client
address behind trusted proxies, and per-tenant idle and absolute session timeouts."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from loandesk.app import create_app
from loandesk.audit.models import AuditEvent
from loandesk.cli import cli
from loandesk.security import headers
from loandesk.security.models import RateLimitCounter
from loandesk.security.ratelimit import DatabaseCounters, RateLimiter, client_network
from loandesk.security.session_policy import SEEN_AT, SIGNED_IN_AT, state
from loandesk.security.web import EXTENSION
from loandesk.settings import Rate, Settings, SettingsError
from loandesk.tenancy import service, use
from loandesk.tenancy.context import TenantRef
from loandesk.web.sessions import COOKIE_NAME, WebSession
from tests.helpers import csrf_from, fetch_token, web_login

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# A whole hour on the epoch: windows of a minute, 15 minutes and an hour all start here.
T0 = 3600 * 555_556


class Clock:
    def __init__(self) -> None:
        self.now = float(T0)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store() -> str:
    return "database"


@pytest.fixture
def settings(settings: Settings, store: str) -> Settings:
    """Rate-limit tests run on both counter stores; Redis only where the suite has one."""
    if store == "redis":
        if not settings.redis_url:
            pytest.skip("Redis counters: set LOANDESK_TEST_REDIS_URL (the PostgreSQL run)")
        return settings
    return settings.replace(redis_url="")


@contextmanager
def limited_app(settings: Settings, **limits: object) -> Iterator[tuple[Flask, Clock]]:
    """An app with these settings, its rate limiter on a clock the test moves."""
    app = create_app(settings.replace(**limits))
    app.testing = True
    clock = Clock()
    app.extensions[EXTENSION].clock = clock
    try:
        yield app, clock
    finally:
        app.extensions["loandesk"].db.dispose()


def _login(client, tenant, email=None, password=None, ip="192.0.2.1", **kw):  # type: ignore[no-untyped-def]
    """A sign-in attempt from ``ip`` (a wrong password unless given), in English."""
    token = csrf_from(client, f"/t/{tenant.slug}/login")
    return client.post(
        f"/t/{tenant.slug}/login?lang=en",
        data={
            "email": email or tenant.admin_email,
            "password": password or "Wrong-pass-123",
            "csrf_token": token,
        },
        environ_base={"REMOTE_ADDR": ip},
        **kw,
    )


def _assert_429_json(response, retry_after: int) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(retry_after)
    body = response.get_json()
    assert body["code"] == "too_many_requests" and body["errors"] == {}
    assert body["message"].startswith("Too many attempts")


# --- headers -------------------------------------------------------------------------------


def _directives(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.strip() for d in policy.split(";")}


def _assert_common_headers(response) -> None:  # type: ignore[no-untyped-def]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert _directives(response)["frame-ancestors"] == "frame-ancestors 'none'"


def test_pages_fragments_errors_and_static_files_carry_the_headers(client, tenant_a) -> None:
    web_login(client, tenant_a)
    responses = [
        client.get("/"),
        client.get("/signup"),
        client.get(f"/t/{tenant_a.slug}/"),
        client.get(f"/t/{tenant_a.slug}/admin/users", headers={"HX-Request": "true"}),
        client.get(f"/t/{tenant_a.slug}/no-such-page"),
        client.get("/static/css/loandesk.css"),
        client.get("/static/vendor/htmx/htmx.min.js"),
        client.post("/lang", data={"locale": "en"}),  # a refused POST (no CSRF token)
    ]
    for response in responses:
        _assert_common_headers(response)
        policy = _directives(response)
        assert policy["script-src"] == "script-src 'self'"
        assert policy["style-src"] == "style-src 'self'"
        assert policy["object-src"] == "object-src 'none'"
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in response.headers  # embedded mode
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 404, 200, 200, 400]


def test_the_api_gets_a_closed_policy_and_its_docs_exactly_what_redoc_needs(
    client, api_a, tenant_a
) -> None:
    for response in (
        api_a.get("/users"),
        client.get("/api/v1/users"),
        client.get("/api/openapi.json"),
        fetch_token(client, tenant_a.client_id, tenant_a.client_secret),
    ):
        _assert_common_headers(response)
        assert _directives(response)["default-src"] == "default-src 'none'"
    docs = client.get("/api/docs")
    _assert_common_headers(docs)
    assert docs.headers["Content-Security-Policy"] == headers.DOCS_POLICY
    policy = _directives(docs)
    assert policy["script-src"] == "script-src 'self'"  # no inline script, no eval
    assert policy["style-src"] == "style-src 'self' 'unsafe-inline'"
    assert policy["worker-src"] == "worker-src blob:"


def test_hsts_only_outside_the_embedded_mode(settings: Settings, tenant_a) -> None:
    production = create_app(
        settings.replace(env="production", secret_key="s" * 40, master_key="m" * 40)
    )
    try:
        client = production.test_client()
        for response in (client.get("/"), client.get("/static/css/loandesk.css")):
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
            _assert_common_headers(response)
    finally:
        production.extensions["loandesk"].db.dispose()
    off = create_app(
        settings.replace(
            env="production", secret_key="s" * 40, master_key="m" * 40, hsts_max_age=timedelta()
        )
    )
    try:
        assert "Strict-Transport-Security" not in off.test_client().get("/").headers
    finally:
        off.extensions["loandesk"].db.dispose()


def test_templates_hold_no_inline_script_style_or_event_handler() -> None:
    roots = [TEMPLATES, *Path(TEMPLATES.parent, "plugins").glob("*/templates")]
    # a data block (type="application/json": the reports' chart data) is not run, so the
    # policy has nothing to forbid there; any other inline script is refused
    inline_script = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.I)
    forbidden = re.compile(r"<style|\sstyle=|\son[a-z]+=|hx-on|javascript:", re.I)
    found = []
    for root in roots:
        for template in root.rglob("*.html"):
            text = template.read_text(encoding="utf-8")
            for pattern in (inline_script, forbidden):
                found += [f"{template.name}: {m.group(0)}" for m in pattern.finditer(text)]
    assert found == []
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    assert '"includeIndicatorStyles":false' in base  # htmx then injects no <style>


# --- rate limits: sign-in ------------------------------------------------------------------


@pytest.mark.parametrize("store", ["database", "redis"])
def test_sign_in_is_limited_per_address(app, settings, tenant_a) -> None:
    with limited_app(settings, rate_limit_login_ip=Rate(3, timedelta(minutes=1))) as (ld, clock):
        client = ld.test_client()
        for n in range(3):
            assert _login(client, tenant_a, f"nobody{n}@x.cn").status_code == 401
        refused = _login(client, tenant_a, "other@x.cn")
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
        assert "Too many attempts. Try again in 1 minute." in refused.get_data(as_text=True)
        assert refused.headers["Content-Security-Policy"]  # error pages get the headers too
        # the right password from that address waits too; another address is not affected
        assert _login(client, tenant_a, password=tenant_a.admin_password).status_code == 429
        assert _login(client, tenant_a, ip="192.0.2.2").status_code == 401
        clock.now += 45
        assert _login(client, tenant_a).headers["Retry-After"] == "15"
        clock.now += 15  # the next window
        signed_in = _login(client, tenant_a, password=tenant_a.admin_password)
        assert signed_in.status_code == 302


@pytest.mark.parametrize("store", ["database", "redis"])
def test_sign_in_is_limited_per_account(app, settings, tenant_a, tenant_b) -> None:
    limits = {
        "rate_limit_login_account": Rate(3, timedelta(minutes=15)),
        "rate_limit_login_ip": Rate(2, timedelta(minutes=1)),
    }
    with limited_app(settings, **limits) as (ld, clock):
        client = ld.test_client()
        for n in range(3):  # from three addresses
            assert _login(client, tenant_a, ip=f"198.51.100.{n}").status_code == 401
        refused = _login(client, tenant_a, ip="198.51.100.9", headers={"HX-Request": "true"})
        _assert_429_json(refused, 900)  # htmx gets the message as JSON, for the toast
        # the same e-mail at another tenant is another account; so is another e-mail
        assert _login(client, tenant_b, tenant_a.admin_email, ip="198.51.100.9").status_code == 401
        other = _login(client, tenant_a, "Nobody@X.cn", ip="198.51.100.10")
        assert other.status_code == 401
        # an address over its own limit does not use up the account's allowance
        for _ in range(3):
            _login(client, tenant_a, "someone@x.cn", ip="198.51.100.10")
        clock.now += 60
        assert _login(client, tenant_a, "someone@x.cn", ip="198.51.100.11").status_code == 401
        clock.now += 900
        assert _login(client, tenant_a, password=tenant_a.admin_password).status_code == 302


def test_the_lock_out_answers_before_the_account_limit(app, client, tenant_a) -> None:
    """Defaults: ten wrong passwords lock the account (423, with its time), long before the
    per-account limit (20 per 15 minutes) answers 429."""
    settings = app.extensions["loandesk"].settings
    assert settings.rate_limit_login_account.count > settings.login_max_failures
    app.extensions[EXTENSION].clock = Clock()  # all in one window
    for _ in range(9):
        assert _login(client, tenant_a).status_code == 401
    locked = _login(client, tenant_a)
    assert locked.status_code == 423 and "locked until" in locked.get_data(as_text=True)
    during = _login(client, tenant_a, password=tenant_a.admin_password)
    assert during.status_code == 423
    for _ in range(settings.rate_limit_login_account.count - 11):
        assert _login(client, tenant_a, ip="192.0.2.77").status_code == 423
    assert _login(client, tenant_a, ip="192.0.2.78").status_code == 429


# --- rate limits: sign-up and tokens -------------------------------------------------------


@pytest.mark.parametrize("store", ["database", "redis"])
def test_sign_up_is_limited_per_address_on_web_and_api(app, settings) -> None:
    with limited_app(settings, rate_limit_signup_ip=Rate(2, timedelta(hours=1))) as (ld, clock):
        client = ld.test_client()
        ip = {"REMOTE_ADDR": "203.0.113.5"}
        good = {
            "name": "限流小贷",
            "slug": "limited",
            "admin_email": "a@limited.cn",
            "admin_password": "Correct-horse-42",
        }
        assert client.post("/api/v1/signup", json={}, environ_base=ip).status_code == 422
        assert client.post("/api/v1/signup", json=good, environ_base=ip).status_code == 201
        refused = client.post(
            "/api/v1/signup",
            json={**good, "slug": "limited-2"},
            environ_base=ip,
            headers={"Accept-Language": "en"},
        )
        _assert_429_json(refused, 3600)
        assert refused.get_json()["message"] == "Too many attempts. Try again in 60 minutes."
        token = csrf_from(client, "/signup")
        web = client.post("/signup", data={**good, "csrf_token": token}, environ_base=ip)
        assert web.status_code == 429 and web.headers["Retry-After"] == "3600"
        assert "<html" in web.get_data(as_text=True)
        other = {"REMOTE_ADDR": "203.0.113.6"}
        assert client.post("/api/v1/signup", json={}, environ_base=other).status_code == 422
        clock.now += 3600
        again = client.post("/api/v1/signup", json={**good, "slug": "limited-2"}, environ_base=ip)
        assert again.status_code == 201


@pytest.mark.parametrize("store", ["database", "redis"])
def test_token_endpoint_is_limited_per_client_and_per_address(app, settings, tenant_a) -> None:
    limits = {
        "rate_limit_token_client": Rate(3, timedelta(minutes=1)),
        "rate_limit_token_ip": Rate(5, timedelta(minutes=1)),
    }
    with limited_app(settings, **limits) as (ld, clock):
        client = ld.test_client()

        def token(client_id: str, secret: str, ip: str):  # type: ignore[no-untyped-def]
            client.environ_base["REMOTE_ADDR"] = ip
            return fetch_token(client, client_id, secret)

        for n in range(3):
            ok = token(tenant_a.client_id, tenant_a.client_secret, f"203.0.113.{n}")
            assert ok.status_code == 200
        _assert_429_json(token(tenant_a.client_id, tenant_a.client_secret, "203.0.113.9"), 60)
        # the client id counts as sent, in the form too, whether or not it exists
        form = client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": tenant_a.client_id,
                "client_secret": tenant_a.client_secret,
            },
        )
        assert form.status_code == 429
        for n in range(5):
            assert token(f"ldc_unknown_{n}", "x", "203.0.113.50").status_code == 401
        _assert_429_json(token("ldc_unknown_9", "x", "203.0.113.50"), 60)
        clock.now += 60
        assert token(tenant_a.client_id, tenant_a.client_secret, "203.0.113.50").status_code == 200


# --- the client's address behind proxies ---------------------------------------------------


def test_forwarded_for_is_believed_only_from_trusted_proxies(app, settings, tenant_a) -> None:
    one = Rate(1, timedelta(minutes=1))
    with limited_app(settings, rate_limit_login_ip=one) as (ld, _clock):
        client = ld.test_client()
        for forwarded, status in (("192.0.2.10", 401), ("192.0.2.11", 429)):
            response = _login(
                client, tenant_a, ip="10.0.0.2", headers={"X-Forwarded-For": forwarded}
            )
            assert response.status_code == status  # no proxy trusted: one client, 10.0.0.2
    with limited_app(settings, rate_limit_login_ip=one, trusted_proxies=1) as (ld, clock):
        clock.now += 3600
        client = ld.test_client()
        # one proxy: the last address it appended is the client; earlier ones are the client's
        for client_ip in ("192.0.2.20", "192.0.2.21"):
            response = _login(
                client,
                tenant_a,
                ip="10.0.0.2",
                headers={"X-Forwarded-For": f"203.0.113.99, {client_ip}"},
            )
            assert response.status_code == 401
        again = _login(client, tenant_a, ip="10.0.0.2", headers={"X-Forwarded-For": "192.0.2.21"})
        assert again.status_code == 429
    db = app.extensions["loandesk"].db
    with db.transaction() as session:
        ref = service.get_by_slug(session, tenant_a.slug).ref()
    with use(ref), db.transaction() as session:
        ips = set(session.scalars(select(AuditEvent.ip)))
    assert {"192.0.2.20", "192.0.2.21", "10.0.0.2"} <= ips and "203.0.113.99" not in ips


# --- the limiter itself --------------------------------------------------------------------


def test_rates_and_proxies_are_settings() -> None:
    assert Rate.parse("20/1m") == Rate(20, timedelta(minutes=1))
    assert Rate.parse("10/15m") == Rate(10, timedelta(minutes=15))
    assert Rate.parse("5/h") == Rate(5, timedelta(hours=1))
    assert not Rate.parse("off").enabled
    with pytest.raises(ValueError):
        Rate.parse("5/0m")
    s = Settings.from_env(
        {
            "LOANDESK_RATE_LIMIT_LOGIN_IP": "30/2m",
            "LOANDESK_RATE_LIMIT_LOGIN_ACCOUNT": "25/15m",
            "LOANDESK_RATE_LIMIT_SIGNUP_IP": "off",
            "LOANDESK_RATE_LIMIT_TOKEN_CLIENT": "100/1m",
            "LOANDESK_RATE_LIMIT_TOKEN_IP": "200/1m",
            "LOANDESK_TRUSTED_PROXIES": "2",
            "LOANDESK_HSTS_MAX_AGE": "600",
        }
    )
    assert s.rate_limit_login_ip == Rate(30, timedelta(minutes=2))
    assert s.rate_limit_login_account.count == 25 and not s.rate_limit_signup_ip.enabled
    assert (s.rate_limit_token_client.count, s.rate_limit_token_ip.count) == (100, 200)
    assert s.trusted_proxies == 2 and s.hsts_max_age == timedelta(minutes=10)
    with pytest.raises(SettingsError, match="LOANDESK_RATE_LIMIT_LOGIN_IP"):
        Settings.from_env({"LOANDESK_RATE_LIMIT_LOGIN_IP": "twenty"})
    with pytest.raises(SettingsError, match="LOANDESK_TRUSTED_PROXIES"):
        Settings.from_env({"LOANDESK_TRUSTED_PROXIES": "-1"})


def test_an_ipv6_client_is_counted_by_its_64() -> None:
    assert client_network("2001:db8:1:2:aaaa::1") == client_network("2001:db8:1:2:bbbb::9")
    assert client_network("2001:db8:1:3::1") != client_network("2001:db8:1:2::1")
    assert client_network("::ffff:192.0.2.1") == "192.0.2.1" == client_network("192.0.2.1")


def test_database_counters_are_one_upserted_row_per_window_and_are_pruned(app) -> None:
    db = app.extensions["loandesk"].db
    clock = Clock()
    store = DatabaseCounters(db, clock=clock)
    limiter = RateLimiter(store, clock=clock)
    rate = Rate(2, timedelta(minutes=1))
    verdicts = [limiter.hit("test", "someone@x.cn", rate).allowed for _ in range(3)]
    assert verdicts == [True, True, False]
    limiter.hit("test", "other", rate)
    with db.transaction() as session:
        rows = {r.key: r.count for r in session.scalars(select(RateLimitCounter))}
    assert sorted(rows.values()) == [1, 3] and len(rows) == 2
    assert not any("someone" in key for key in rows)  # subjects are stored as digests
    assert store.prune(now=T0 + 59) == 0
    clock.now = T0 + 60
    # a new window, a new row; the hit prunes the ended window (at most once a minute)
    assert limiter.hit("test", "someone@x.cn", rate).allowed
    with db.transaction() as session:
        assert session.scalars(select(RateLimitCounter.count)).all() == [1]
    clock.now = T0 + 90
    limiter.hit("test", "other", rate)
    assert store.prune(now=T0 + 120) == 2


# --- session timeouts ----------------------------------------------------------------------


def _session_row(app: Flask, client) -> tuple[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    key = hashlib.sha256(client.get_cookie(COOKIE_NAME).value.encode()).hexdigest()
    with app.extensions["loandesk"].db.transaction() as session:
        row = session.get(WebSession, key)
        assert row is not None
        return key, dict(row.data)


def _age_session(app: Flask, client, **seconds_ago: int) -> None:  # type: ignore[no-untyped-def]
    """Move the session's stored times into the past, as if that much time had passed."""
    key, data = _session_row(app, client)
    now = int(time.time())
    for name, ago in seconds_ago.items():
        data[name] = now - ago
    with app.extensions["loandesk"].db.transaction() as session:
        row = session.get(WebSession, key)
        row.data = data


def _expired_sign_in_page(client, response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 302 and "/login" in response.location
    page = client.get(response.location)
    text = page.get_data(as_text=True)
    assert "Your session has expired. Please sign in again." in text
    return text


def test_sign_in_stamps_the_session_and_activity_is_written_at_most_once_a_minute(
    app, client, tenant_a
) -> None:
    before = int(time.time())
    web_login(client, tenant_a)
    _, data = _session_row(app, client)
    assert before <= data[SIGNED_IN_AT] == data[SEEN_AT] <= time.time()
    client.get(f"/t/{tenant_a.slug}/")  # the first page after sign-in stores a CSRF token
    _age_session(app, client, **{SEEN_AT: 30})
    _, seen = _session_row(app, client)
    for _ in range(3):
        assert client.get(f"/t/{tenant_a.slug}/").status_code == 200
    assert _session_row(app, client)[1] == seen  # the row was not written
    _age_session(app, client, **{SEEN_AT: 61})
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200
    _, refreshed = _session_row(app, client)
    assert refreshed[SEEN_AT] >= int(time.time()) - 1
    assert refreshed[SIGNED_IN_AT] == data[SIGNED_IN_AT]


def test_an_idle_session_is_signed_out_with_a_message(app, client, tenant_a) -> None:
    web_login(client, tenant_a)
    _age_session(app, client, **{SEEN_AT: 29 * 60})
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200  # 29 minutes: still fine
    old_cookie = client.get_cookie(COOKIE_NAME).value
    _age_session(app, client, **{SEEN_AT: 30 * 60})
    page = _expired_sign_in_page(client, client.get(f"/t/{tenant_a.slug}/admin/users?lang=en"))
    assert 'name="next" value="/t/tenant-a/admin/users?lang=en"' in page
    assert client.get_cookie(COOKIE_NAME).value != old_cookie  # a new session id
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 302
    with app.extensions["loandesk"].db.transaction() as session:
        ref = service.get_by_slug(session, tenant_a.slug).ref()
    with use(ref), app.extensions["loandesk"].db.transaction() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.session_expired")
        ).one()
    assert event.record_id == tenant_a.admin_user_id and event.diff == {"reason": "idle"}
    assert web_login(client, tenant_a).status_code == 302  # signing in again works


def test_a_session_ends_after_the_absolute_timeout_however_active(app, client, tenant_a) -> None:
    web_login(client, tenant_a)
    _age_session(app, client, **{SIGNED_IN_AT: 12 * 3600 - 60, SEEN_AT: 5})
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200
    _age_session(app, client, **{SIGNED_IN_AT: 12 * 3600, SEEN_AT: 5})
    _expired_sign_in_page(client, client.get(f"/t/{tenant_a.slug}/?lang=en"))


def test_a_form_posted_from_an_expired_session_reaches_the_sign_in_page(
    app, client, tenant_a
) -> None:
    web_login(client, tenant_a)
    token = csrf_from(client, f"/t/{tenant_a.slug}/")
    _age_session(app, client, **{SEEN_AT: 3600})
    response = client.post(
        f"/t/{tenant_a.slug}/admin/api-clients?lang=en",
        data={"name": "x", "scopes": ["users:read"], "csrf_token": token},
    )
    _expired_sign_in_page(client, response)


def test_htmx_is_sent_to_the_sign_in_page_as_a_whole(app, client, tenant_a) -> None:
    web_login(client, tenant_a)
    _age_session(app, client, **{SEEN_AT: 3600})
    response = client.get(
        f"/t/{tenant_a.slug}/admin/users?page=2&lang=en",
        headers={"HX-Request": "true", "HX-Current-URL": "http://x/t/tenant-a/admin/users?page=2"},
    )
    assert response.status_code == 401
    assert response.get_json()["code"] == "session_expired"
    assert response.headers["HX-Redirect"] == (
        "/t/tenant-a/login?next=/t/tenant-a/admin/users?page%3D2"
    )
    assert "Your session has expired" in client.get(response.headers["HX-Redirect"]).text


def test_a_session_from_before_the_timestamps_is_ended(app, client, tenant_a) -> None:
    web_login(client, tenant_a)
    key, data = _session_row(app, client)
    with app.extensions["loandesk"].db.transaction() as session:
        session.get(WebSession, key).data = {
            k: v for k, v in data.items() if k not in (SIGNED_IN_AT, SEEN_AT)
        }
    _expired_sign_in_page(client, client.get(f"/t/{tenant_a.slug}/?lang=en"))


def test_timeouts_are_set_per_tenant_from_the_shell(app, tenant_a, tenant_b) -> None:
    runner = app.test_cli_runner()
    args = ["tenant", "set-session", "--slug", tenant_a.slug]
    result = runner.invoke(cli, [*args, "--idle-minutes", "10", "--absolute-hours", "2"])
    assert result.exit_code == 0, result.output
    for wrong, problem in (
        (["--idle-minutes", "2", "--absolute-hours", "2"], "Use 5 to 1440 minutes."),
        (["--idle-minutes", "10", "--absolute-hours", "0"], "Use 1 to 720 hours."),
        (["--idle-minutes", "180", "--absolute-hours", "2"], "cannot be longer"),
    ):
        refused = runner.invoke(cli, [*args, *wrong])
        assert refused.exit_code != 0 and problem in refused.output
    with app.extensions["loandesk"].db.transaction() as session:
        ref = service.get_by_slug(session, tenant_a.slug).ref()
    assert (ref.session_idle_minutes, ref.session_absolute_hours) == (10, 2)
    with use(ref), app.extensions["loandesk"].db.transaction() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "tenant.session_limits")
        ).one()
    assert event.diff == {"session_absolute_hours": [12, 2], "session_idle_minutes": [30, 10]}

    a, b = app.test_client(), app.test_client()
    web_login(a, tenant_a)
    web_login(b, tenant_b)
    for client in (a, b):
        _age_session(app, client, **{SEEN_AT: 11 * 60})
    assert b.get(f"/t/{tenant_b.slug}/").status_code == 200  # tenant B keeps 30 minutes
    _expired_sign_in_page(a, a.get(f"/t/{tenant_a.slug}/?lang=en"))
    web_login(a, tenant_a)
    _age_session(app, a, **{SIGNED_IN_AT: 2 * 3600})
    _expired_sign_in_page(a, a.get(f"/t/{tenant_a.slug}/?lang=en"))


def test_the_policy_on_its_own() -> None:
    tenant = TenantRef(
        id=None,  # type: ignore[arg-type]
        slug="x",
        name="x",
        status="active",
        timezone="Asia/Shanghai",
        locale="zh_CN",
        currency="CNY",
        session_idle_minutes=30,
        session_absolute_hours=12,
    )
    now = 1_000_000.0
    fresh = {SIGNED_IN_AT: int(now) - 100, SEEN_AT: int(now) - 10}
    assert state(fresh, now, tenant) == "active"
    assert state({**fresh, SEEN_AT: int(now) - 60}, now, tenant) == "refresh"
    assert state({**fresh, SEEN_AT: int(now) - 1800}, now, tenant) == "idle"
    assert state({**fresh, SIGNED_IN_AT: int(now) - 43200}, now, tenant) == "expired"
    assert state({}, now, tenant) == "expired"


def test_sign_in_goes_on_when_redis_does_not_answer(app, settings, tenant_a, caplog) -> None:
    with limited_app(settings, redis_url="redis://127.0.0.1:1/0") as (ld, _clock):
        client = ld.test_client()
        assert _login(client, tenant_a).status_code == 401
        assert _login(client, tenant_a, password=tenant_a.admin_password).status_code == 302
    assert "rate limit login_ip failed" in caplog.text
