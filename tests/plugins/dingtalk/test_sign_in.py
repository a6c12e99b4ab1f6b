"""钉钉登录 against DingTalk on 127.0.0.1 (its login page, the new server API and the old one):
LoanDesk's Flask test client on one side, real HTTP to the local DingTalk on the other. A
staff member whose DingTalk userid is mapped signs in; a callback with a state this browser did
not get is refused; DingTalk users nobody is mapped to, deactivated staff, outside contacts and
codes DingTalk refuses are refused with a clear message and an audit row; the plugin off (or
its sign-in setting off) means no button and 404; a mapping in tenant A signs nobody in at
tenant B; the app secret and tokens appear in no log, audit row or page."""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from loandesk.audit.models import AuditEvent
from loandesk.web.sessions import COOKIE_NAME
from tests.helpers import (
    ApiClient,
    TenantFixture,
    audit_events,
    signed_in,
    tenant_session,
    web_login,
)
from tests.plugins.dingtalk.conftest import APP_KEY, APP_SECRET, SECRETS, Ding
from tests.plugins.dingtalk.dingtalk_server import FakeDingTalk
from tests.plugins.sign_in_flow import (
    BASE_URL,
    callback_query,
    english,
    new_staff,
    round_trip,
)
from tests.two_factor_helpers import Clock, enrol

UNION_ID = "z21HjQliSzpw0YWCNxmii6u2Os62cZ62iSZ"


@pytest.fixture(autouse=True)
def in_english(app: Flask, tenant_a: TenantFixture) -> None:
    """Tenant A's pages in English, so that the assertions read the message ids."""
    english(app, tenant_a)


def _allow(ding: Ding, fake: FakeDingTalk, **changes: Any) -> None:
    """The plugin configured for the local DingTalk, with 钉钉登录 allowed."""
    ding.configure(sign_in_enabled=True, api_url=fake.url, login_url=fake.url, **changes)


def _signs_in_as(api: ApiClient, ding: Ding, fake: FakeDingTalk, email: str, userid: str,
                 **settings: Any) -> str:  # fmt: skip
    """Sign-in allowed, a new staff member mapped to ``userid``, and DingTalk signing in the
    person with that userid; the staff member's id."""
    _allow(ding, fake, **settings)
    user_id = new_staff(api, email)
    ding.map(user_id, userid)
    fake.members[UNION_ID] = (userid, 0)
    fake.sign_in_as = UNION_ID
    return user_id


_round_trip = partial(round_trip, key="dingtalk")
_callback_query = partial(callback_query, key="dingtalk")


def _paths(fake: FakeDingTalk) -> list[str]:
    return [r["path"] for r in fake.sign_in_requests]


# --- signing in -------------------------------------------------------------------------------


def test_a_mapped_staff_member_signs_in_with_dingtalk(
    app: Flask, client: FlaskClient, tenant_a: TenantFixture, api_a: ApiClient, ding: Ding,
    fake: FakeDingTalk,
) -> None:  # fmt: skip
    user_id = _signs_in_as(api_a, ding, fake, "li.na@tenant-a.example.cn", "manager0831")
    web = app.test_client()
    login = web.get(f"/t/{tenant_a.slug}/login").get_data(as_text=True)
    assert f'href="/t/{tenant_a.slug}/sign-in/dingtalk"' in login
    assert "Sign in with DingTalk" in login
    before = web.get_cookie(COOKIE_NAME)

    done = _round_trip(web, tenant_a.slug, next_page=f"/t/{tenant_a.slug}/account")
    assert done.status_code == 302 and done.location.endswith(f"/t/{tenant_a.slug}/account")
    assert signed_in(web, tenant_a.slug)
    assert before is not None and web.get_cookie(COOKIE_NAME).value != before.value

    # DingTalk was asked exactly as documented
    authorize, exchange, me, by_union_id = fake.sign_in_requests
    state = authorize["query"]["state"]
    assert authorize["path"] == "/oauth2/auth" and len(state) >= 40
    assert authorize["query"] == {
        "redirect_uri": f"{BASE_URL}/t/{tenant_a.slug}/sign-in/dingtalk/callback",
        "response_type": "code", "client_id": APP_KEY, "scope": "openid",
        "state": state, "prompt": "consent",
    }  # fmt: skip
    assert (exchange["method"], exchange["path"]) == ("POST", "/v1.0/oauth2/userAccessToken")
    assert exchange["content_type"].startswith("application/json")
    body = json.loads(exchange["body"])
    assert body.keys() == {"clientId", "clientSecret", "code", "grantType"}
    assert (body["clientId"], body["clientSecret"], body["grantType"]) == (
        APP_KEY, APP_SECRET, "authorization_code",
    )  # fmt: skip
    assert (me["method"], me["path"]) == ("GET", "/v1.0/contact/users/me")
    assert me["token_header"].startswith("user-token-") and me["query"] == {}
    assert (by_union_id["method"], by_union_id["path"]) == ("POST", "/topapi/user/getbyunionid")
    assert by_union_id["query"].keys() == {"access_token"}
    assert by_union_id["query"]["access_token"] in fake.tokens  # the app's token
    assert json.loads(by_union_id["body"]) == {"unionid": UNION_ID}
    assert fake.problems == []

    [signed] = audit_events(app, tenant_a.slug, "user.sign_in")[-1:]
    assert signed == {
        "record_id": user_id, "email": "li.na@tenant-a.example.cn", "method": "dingtalk",
        "subject": "manager0831",
    }  # fmt: skip


def test_dingtalk_sign_in_skips_loandesk_s_second_factor_like_single_sign_on(
    app: Flask, tenant_a: TenantFixture, ding: Ding, fake: FakeDingTalk
) -> None:
    _allow(ding, fake)
    admin = app.test_client()
    clock = Clock(app)
    web_login(admin, tenant_a)
    enrol(admin, tenant_a, clock)  # the admin now signs in with a password and a code
    ding.map(tenant_a.admin_user_id, "boss01")
    fake.members[UNION_ID] = ("boss01", 0)
    fake.sign_in_as = UNION_ID
    web = app.test_client()
    done = _round_trip(web, tenant_a.slug)
    assert done.status_code == 302 and "/login/code" not in done.location
    assert signed_in(web, tenant_a.slug)


def test_the_app_token_is_fetched_again_once_when_dingtalk_refuses_it(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, ding: Ding, fake: FakeDingTalk
) -> None:
    _signs_in_as(api_a, ding, fake, "zhao@tenant-a.example.cn", "zhao01")
    assert _round_trip(app.test_client(), tenant_a.slug).status_code == 302
    fake.expire_tokens()  # the cached app token is now refused (42001)
    web = app.test_client()
    assert _round_trip(web, tenant_a.slug).status_code == 302
    assert signed_in(web, tenant_a.slug) and fake.token_requests == 2


# --- state ------------------------------------------------------------------------------------


def test_a_callback_with_a_wrong_missing_or_stale_state_is_refused(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, ding: Ding, fake: FakeDingTalk
) -> None:
    _signs_in_as(api_a, ding, fake, "wang@tenant-a.example.cn", "wang01")
    callback = f"/t/{tenant_a.slug}/sign-in/dingtalk/callback"
    web = app.test_client()
    query = _callback_query(web, tenant_a.slug)

    other_browser = app.test_client()  # the code and state, but not this browser's session
    refused = other_browser.get(callback, query_string=query)
    assert refused.status_code == 400
    assert "not started in this browser" in refused.get_data(as_text=True)
    assert not signed_in(other_browser, tenant_a.slug)
    for wrong in (
        lambda q: {**q, "state": q["state"][::-1]},  # another state
        lambda q: {"authCode": q["authCode"]},  # none
    ):
        query = _callback_query(web, tenant_a.slug)
        assert web.get(callback, query_string=wrong(query)).status_code == 400
        assert not signed_in(web, tenant_a.slug)
        # a wrong try drops the sign-in: its own state does not work after it
        assert web.get(callback, query_string=query).status_code == 400
    # no code reached DingTalk's token endpoint for any of these
    assert "/v1.0/oauth2/userAccessToken" not in _paths(fake)

    clock = Clock(app)
    query = _callback_query(web, tenant_a.slug)
    clock.advance(601)  # more than ten minutes at DingTalk
    assert web.get(callback, query_string=query).status_code == 400

    query = _callback_query(web, tenant_a.slug)
    assert web.get(callback, query_string=query).status_code == 302  # the state, in time
    replay = app.test_client()
    assert replay.get(callback, query_string=query).status_code == 400


# --- refused ----------------------------------------------------------------------------------


def test_a_dingtalk_user_nobody_is_mapped_to_is_refused_and_audited(
    app: Flask, tenant_a: TenantFixture, ding: Ding, fake: FakeDingTalk
) -> None:
    _allow(ding, fake)
    fake.members[UNION_ID] = ("stranger01", 0)  # in the firm's DingTalk, not linked here
    fake.sign_in_as = UNION_ID
    web = app.test_client()
    refused = _round_trip(web, tenant_a.slug)
    assert refused.status_code == 403
    page = refused.get_data(as_text=True)
    assert "<h1>Sign-in did not work</h1>" in page
    assert "Your DingTalk account is not linked to a LoanDesk staff member of this firm" in page
    assert not signed_in(web, tenant_a.slug)
    failed = audit_events(app, tenant_a.slug, "user.sign_in_failed")[-1]
    assert failed == {
        "record_id": None, "email": "", "method": "dingtalk", "subject": "stranger01",
        "reason": "no_account",
    }  # fmt: skip

    fake.sign_in_as = "union-of-someone-outside-the-firm"  # getbyunionid: 60121
    refused = _round_trip(web, tenant_a.slug)
    assert refused.status_code == 403
    assert "DingTalk organisation" in refused.get_data(as_text=True)
    failed = audit_events(app, tenant_a.slug, "user.sign_in_failed")[-1]
    assert (failed["reason"], failed["method"]) == ("no_account", "dingtalk")
    assert failed["error"] == "DingTalk errcode 60121: 找不到该用户"


def test_an_outside_contact_is_refused(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, ding: Ding, fake: FakeDingTalk
) -> None:
    _allow(ding, fake)
    fake.members[UNION_ID] = ("ext01", 1)  # contact_type 1: 企业外部联系人
    fake.sign_in_as = UNION_ID
    refused = _round_trip(app.test_client(), tenant_a.slug)
    assert refused.status_code == 403 and "outside contact" in refused.get_data(as_text=True)
    assert audit_events(app, tenant_a.slug, "user.sign_in_failed")[-1]["reason"] == "not_staff"


def test_a_deactivated_staff_member_is_refused(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, ding: Ding, fake: FakeDingTalk
) -> None:
    user_id = _signs_in_as(api_a, ding, fake, "gone@tenant-a.example.cn", "gone01")
    assert _round_trip(app.test_client(), tenant_a.slug).status_code == 302
    assert api_a.patch(f"/users/{user_id}", json={"status": "deactivated"}).status_code == 200
    web = app.test_client()
    refused = _round_trip(web, tenant_a.slug)
    assert refused.status_code == 403 and "deactivated" in refused.get_data(as_text=True)
    assert not signed_in(web, tenant_a.slug)
    failed = audit_events(app, tenant_a.slug, "user.sign_in_failed")[-1]
    assert failed["reason"] == "deactivated" and failed["record_id"] == user_id
    assert failed["subject"] == "gone01"


def test_a_code_dingtalk_refuses_gives_a_clear_message_and_no_sign_in(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, ding: Ding, fake: FakeDingTalk
) -> None:
    _signs_in_as(api_a, ding, fake, "sun@tenant-a.example.cn", "sun01")
    callback = f"/t/{tenant_a.slug}/sign-in/dingtalk/callback"
    web = app.test_client()
    query = _callback_query(web, tenant_a.slug)
    refused = web.get(callback, query_string={**query, "authCode": "not-a-code-dingtalk-gave"})
    assert refused.status_code == 403
    assert "DingTalk refused the sign-in (invalidAuthCode)" in refused.get_data(as_text=True)
    assert not signed_in(web, tenant_a.slug)
    failed = audit_events(app, tenant_a.slug, "user.sign_in_failed")[-1]
    assert (failed["reason"], failed["method"]) == ("provider_error", "dingtalk")
    assert failed["error"] == "DingTalk HTTP 400 invalidAuthCode: 不合法的临时授权码"
    assert "subject" not in failed  # nobody was identified

    # the person declines at DingTalk: it sends error= instead of a code
    fake.sign_in_as = None
    refused = _round_trip(web, tenant_a.slug)
    assert refused.status_code == 403 and "DingTalk did not sign you in" in refused.get_data(
        as_text=True
    )
    failed = audit_events(app, tenant_a.slug, "user.sign_in_failed")[-1]
    assert (failed["reason"], failed["error"]) == ("provider_error", "access_denied")


def test_dingtalk_not_answering_in_time_is_refused_quickly(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, ding: Ding, fake: FakeDingTalk
) -> None:
    _signs_in_as(api_a, ding, fake, "qian@tenant-a.example.cn", "qian01", timeout_seconds=1)
    fake.delay = 2.5
    web = app.test_client()
    refused = _round_trip(web, tenant_a.slug)
    assert refused.status_code == 403
    assert "DingTalk cannot be reached right now" in refused.get_data(as_text=True)
    failed = audit_events(app, tenant_a.slug, "user.sign_in_failed")[-1]
    assert failed["reason"] == "provider_unreachable"
    assert failed["error"] == "/v1.0/oauth2/userAccessToken: no answer within 1 s"
    assert not signed_in(web, tenant_a.slug)


# --- off, and tenants apart ---------------------------------------------------------------------


def test_no_button_and_404_unless_the_plugin_is_enabled_with_sign_in_allowed(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, ding: Ding, fake: FakeDingTalk
) -> None:
    slug = tenant_a.slug
    web = app.test_client()

    def offered() -> bool:
        page = web.get(f"/t/{slug}/login").get_data(as_text=True)
        start = web.get(f"/t/{slug}/sign-in/dingtalk").status_code
        back = web.get(f"/t/{slug}/sign-in/dingtalk/callback?authCode=x&state=y").status_code
        assert (start, back) in ((302, 400), (404, 404))
        return "/sign-in/dingtalk" in page and start == 302

    assert not offered()  # enabled, configured, sign-in not allowed (the default)
    _allow(ding, fake)
    assert offered()
    _allow(ding, fake, app_key=None)  # allowed but not configured
    assert not offered()
    _allow(ding, fake)
    answer = api_a.put("/plugins/dingtalk", json={"enabled": False})
    assert answer.status_code == 200, answer.get_json()
    assert not offered()


def test_a_dingtalk_user_mapped_in_tenant_a_cannot_sign_in_to_tenant_b(
    app: Flask, api_a: ApiClient, api_b: ApiClient, tenant_a: TenantFixture,
    tenant_b: TenantFixture, ding: Ding, fake: FakeDingTalk,
) -> None:  # fmt: skip
    english(app, tenant_b)
    _signs_in_as(api_a, ding, fake, "li@tenant-a.example.cn", "li01")
    # Tenant B uses the same DingTalk app, and has no link for li01.
    b = Ding(app, tenant_b, api_b, fake)
    b.configure(sign_in_enabled=True, api_url=fake.url, login_url=fake.url)
    web = app.test_client()
    refused = _round_trip(web, tenant_b.slug)
    assert refused.status_code == 403 and "not linked" in refused.get_data(as_text=True)
    assert not signed_in(web, tenant_b.slug) and not signed_in(web, tenant_a.slug)
    assert audit_events(app, tenant_b.slug, "user.sign_in_failed")[-1]["subject"] == "li01"
    assert audit_events(app, tenant_b.slug, "user.sign_in") == []

    # a sign-in started at A and brought to B's callback signs nobody in at B
    query = _callback_query(web, tenant_a.slug)
    assert web.get(f"/t/{tenant_b.slug}/sign-in/dingtalk/callback",
                   query_string=query).status_code == 400  # fmt: skip
    assert not signed_in(web, tenant_b.slug)
    # and A's sign-in gives no session at B
    assert _round_trip(web, tenant_a.slug).status_code == 302
    assert signed_in(web, tenant_a.slug) and not signed_in(web, tenant_b.slug)


# --- secrets ----------------------------------------------------------------------------------


def test_the_app_secret_and_tokens_are_in_no_log_audit_row_or_page(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, ding: Ding, fake: FakeDingTalk,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    _signs_in_as(api_a, ding, fake, "zhou@tenant-a.example.cn", "zhou01")
    web = app.test_client()
    pages = [web.get(f"/t/{tenant_a.slug}/login").get_data(as_text=True)]
    query = _callback_query(web, tenant_a.slug)
    callback = f"/t/{tenant_a.slug}/sign-in/dingtalk/callback"
    pages.append(web.get(callback, query_string={**query, "authCode": "bad"}).get_data(True))
    pages.append(_round_trip(web, tenant_a.slug).get_data(as_text=True))
    fake.sign_in_as = "union-unknown"
    pages.append(_round_trip(app.test_client(), tenant_a.slug).get_data(as_text=True))
    admin = app.test_client()
    web_login(admin, tenant_a)
    for page in ("/admin/audit", "/admin/plugins/dingtalk/settings"):
        pages.append(admin.get(f"/t/{tenant_a.slug}{page}").get_data(as_text=True))
    pages.append(api_a.get("/plugins/dingtalk").get_data(as_text=True))

    with tenant_session(app, tenant_a.slug) as session:
        audit = [str(e.diff) for e in session.scalars(select(AuditEvent))]
    assert len(fake.user_tokens) == 2 and fake.tokens
    hidden = (*SECRETS, *fake.user_tokens, *fake.tokens)
    for text in (*pages, *audit, caplog.text):
        for secret in hidden:
            assert secret not in text
    assert any("user.sign_in_failed" in text or "no_account" in text for text in audit)
