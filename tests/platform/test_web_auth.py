"""Web sign-in: argon2id, server-side sessions rotated at sign-in, lock-out, CSRF everywhere."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from loandesk.auth.models import User
from loandesk.tenancy import service, use
from loandesk.web.csrf import is_exempt
from loandesk.web.sessions import COOKIE_NAME
from tests.helpers import csrf_from, web_login


def _session_cookie(client):  # type: ignore[no-untyped-def]
    return client.get_cookie(COOKIE_NAME)


def test_sign_in_rotates_the_session_and_sets_safe_cookie_flags(client, tenant_a) -> None:
    csrf_from(client, f"/t/{tenant_a.slug}/login")
    before = _session_cookie(client).value
    response = web_login(client, tenant_a)
    assert response.status_code == 302 and response.location.endswith(f"/t/{tenant_a.slug}/")
    after = _session_cookie(client)
    assert after.value != before
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE_NAME))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header
    home = client.get(f"/t/{tenant_a.slug}/")
    assert home.status_code == 200


def test_cookie_is_secure_outside_the_embedded_mode(settings, tenant_a) -> None:
    from loandesk.app import create_app

    app = create_app(settings.replace(env="production", secret_key="s" * 40, master_key="m" * 40))
    client = app.test_client()
    csrf_from(client, f"/t/{tenant_a.slug}/login")
    response = web_login(client, tenant_a)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE_NAME))
    assert "Secure" in header
    app.extensions["loandesk"].db.dispose()


def test_pages_need_sign_in_and_logout_ends_it(client, tenant_a) -> None:
    first = client.get(f"/t/{tenant_a.slug}/")
    assert first.status_code == 302 and "/login" in first.location
    web_login(client, tenant_a)
    token = csrf_from(client, f"/t/{tenant_a.slug}/")
    out = client.post(f"/t/{tenant_a.slug}/logout", data={"csrf_token": token})
    assert out.status_code == 302
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 302


def test_a_session_of_tenant_a_is_not_signed_in_at_tenant_b(client, tenant_a, tenant_b) -> None:
    web_login(client, tenant_a)
    assert client.get(f"/t/{tenant_b.slug}/").status_code == 302


def test_wrong_password_is_refused_without_saying_which_part(client, tenant_a) -> None:
    wrong = web_login(client, tenant_a, password="Wrong-pass-123")
    unknown_token = csrf_from(client, f"/t/{tenant_a.slug}/login")
    unknown = client.post(
        f"/t/{tenant_a.slug}/login",
        data={"email": "nobody@x.cn", "password": "Wrong-pass-123", "csrf_token": unknown_token},
    )
    assert wrong.status_code == unknown.status_code == 401
    message = re.compile(r'class="flash flash-error"[^>]*>(.*?)<', re.S)
    assert (
        message.search(wrong.get_data(as_text=True)).group(1).strip()
        == message.search(unknown.get_data(as_text=True)).group(1).strip()
    )


def test_ten_wrong_passwords_lock_the_account(app: Flask, client, tenant_a) -> None:
    for _ in range(9):
        assert web_login(client, tenant_a, password="Wrong-pass-123").status_code == 401
    locked = web_login(client, tenant_a, password="Wrong-pass-123")
    assert locked.status_code == 423
    # the right password during the lock is refused, with the same clear message
    during = web_login(client, tenant_a)
    assert during.status_code == 423
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 302
    # when the lock has passed, the right password works again
    db = app.extensions["loandesk"].db
    from datetime import timedelta

    from loandesk.db import utcnow

    with app.app_context(), db.transaction() as session:
        ref = service.get_by_slug(session, tenant_a.slug).ref()
    with use(ref), db.transaction() as session:
        user = session.scalar(select(User).where(User.email == tenant_a.admin_email))
        assert user.locked_until > utcnow() + timedelta(minutes=14)
        user.locked_until = utcnow() - timedelta(seconds=1)
    assert web_login(client, tenant_a).status_code == 302


def test_suspended_tenant_cannot_sign_in(app: Flask, client, tenant_a) -> None:
    web_login(client, tenant_a)
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200
    with app.app_context(), app.extensions["loandesk"].db.transaction() as session:
        service.set_status(session, service.get_by_slug(session, tenant_a.slug), "suspended")
    response = client.get(f"/t/{tenant_a.slug}/login")
    assert response.status_code == 403
    # a session that was signed in before the suspension opens nothing either
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 403
    assert client.get(f"/t/{tenant_a.slug}/admin/users").status_code == 403
    posted = client.post(
        f"/t/{tenant_a.slug}/login",
        data={"email": tenant_a.admin_email, "password": tenant_a.admin_password},
    )
    assert posted.status_code in (400, 403)


def test_every_web_post_without_a_valid_csrf_token_is_refused(app: Flask, client, tenant_a) -> None:
    web_login(client, tenant_a)
    good = csrf_from(client, f"/t/{tenant_a.slug}/")
    uid = tenant_a.admin_user_id
    posts, exempt = [], []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or ()) or rule.rule.startswith(("/api/", "/oauth/")):
            continue
        if is_exempt(app.view_functions[rule.endpoint]):
            exempt.append(rule.rule)
            continue
        path = (
            rule.rule.replace("<tenant_slug>", tenant_a.slug)
            .replace("<uuid:user_id>", uid)
            .replace("<uuid:pk>", uid)
            .replace("<token>", "x")
        )
        posts.append(path)
        for headers, data in (
            ({}, {}),
            ({}, {"csrf_token": "forged"}),
            ({"X-CSRFToken": "forged", "HX-Request": "true"}, {}),
        ):
            response = client.post(path, data=data, headers=headers)
            assert response.status_code == 400, path
    assert len(posts) >= 8
    # only providers' callbacks go without a token, each proving itself (a signature, or the
    # tenant's secret receipt token in the URL for SMS providers that sign nothing): each one
    # listed here on purpose
    assert sorted(exempt) == [
        "/t/<tenant_slug>/contracts/esign/<provider_key>/callback",
        "/t/<tenant_slug>/disbursements/callbacks/<connector>",
        "/t/<tenant_slug>/sms-aliyun/receipts/<token>",
        "/t/<tenant_slug>/sms-tencent/receipts/<token>",
    ]
    # the same requests with the session's token get past the check (htmx sends a header)
    ok = client.post(
        f"/t/{tenant_a.slug}/admin/api-clients",
        data={"name": "x", "scopes": ["users:read"]},
        headers={"X-CSRFToken": good, "HX-Request": "true"},
    )
    assert ok.status_code == 201


def test_htmx_csrf_error_is_json_for_the_toast(client, tenant_a) -> None:
    web_login(client, tenant_a)
    response = client.post(f"/t/{tenant_a.slug}/logout", headers={"HX-Request": "true"})
    assert response.status_code == 400 and response.get_json()["message"]


def test_expired_sessions_are_purged(app: Flask, client, tenant_a) -> None:
    from datetime import timedelta

    from loandesk.db import utcnow
    from loandesk.web.sessions import WebSession, purge_expired

    web_login(client, tenant_a)
    db = app.extensions["loandesk"].db
    assert purge_expired(db) == 0
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200
    assert purge_expired(db, now=utcnow() + timedelta(hours=13)) == 1
    with db.transaction() as session:
        assert session.query(WebSession).count() == 0
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 302
