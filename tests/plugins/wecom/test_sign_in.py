"""企业微信登录 against WeCom on 127.0.0.1 (its login page and getuserinfo): LoanDesk's Flask
test client on one side, real HTTP to the local WeCom on the other. A staff member whose WeCom
userid is mapped signs in; a callback with a state this browser did not get is refused; WeCom
members nobody is mapped to, people who are not members, deactivated staff and codes WeCom
refuses are refused with a clear message and an audit row; WeCom not answering in time is
refused quickly; the plugin off (or its sign-in setting off) means no button and 404; a
mapping in tenant A signs nobody in at tenant B; the app secret, tokens and codes appear in
no log, audit row or page."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import pytest
from flask import Flask
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
from tests.plugins.sign_in_flow import (
    BASE_URL,
    callback_query,
    english,
    new_staff,
    round_trip,
)
from tests.plugins.wecom.conftest import AGENT_ID, CORP_ID, SECRETS, Work
from tests.plugins.wecom.wecom_server import FakeWeCom
from tests.two_factor_helpers import Clock


@pytest.fixture(autouse=True)
def in_english(app: Flask, tenant_a: TenantFixture) -> None:
    """Tenant A's pages in English, so that the assertions read the message ids."""
    english(app, tenant_a)


def _allow(work: Work, fake: FakeWeCom, **changes: Any) -> None:
    """The plugin configured for the local WeCom, with 企业微信登录 allowed."""
    work.configure(sign_in_enabled=True, login_url=fake.url, **changes)


def _signs_in_as(api: ApiClient, work: Work, fake: FakeWeCom, email: str, userid: str,
                 **settings: Any) -> str:  # fmt: skip
    """Sign-in allowed, a new staff member mapped to ``userid``, and WeCom signing in the
    member with that userid; the staff member's id."""
    _allow(work, fake, **settings)
    user_id = new_staff(api, email)
    work.map(user_id, userid)
    fake.members.add(userid)
    fake.sign_in_as = userid
    return user_id


_round_trip = partial(round_trip, key="wecom")
_callback_query = partial(callback_query, key="wecom")


def _paths(fake: FakeWeCom) -> list[str]:
    return [r["path"] for r in fake.sign_in_requests]


# --- signing in -------------------------------------------------------------------------------


def test_a_mapped_staff_member_signs_in_with_wecom(
    app: Flask, tenant_a: TenantFixture, api_a: ApiClient, work: Work, fake: FakeWeCom
) -> None:
    user_id = _signs_in_as(api_a, work, fake, "li.na@tenant-a.example.cn", "LiNa")
    web = app.test_client()
    login = web.get(f"/t/{tenant_a.slug}/login").get_data(as_text=True)
    assert f'href="/t/{tenant_a.slug}/sign-in/wecom"' in login
    assert "Sign in with WeCom" in login
    before = web.get_cookie(COOKIE_NAME)

    done = _round_trip(web, tenant_a.slug, next_page=f"/t/{tenant_a.slug}/account")
    assert done.status_code == 302 and done.location.endswith(f"/t/{tenant_a.slug}/account")
    assert signed_in(web, tenant_a.slug)
    assert before is not None and web.get_cookie(COOKIE_NAME).value != before.value

    # WeCom was asked exactly as documented
    login_page, exchange = fake.sign_in_requests
    state = login_page["query"]["state"]
    assert login_page["path"] == "/wwlogin/sso/login" and len(state) >= 40
    assert login_page["query"] == {
        "login_type": "CorpApp", "appid": CORP_ID, "agentid": str(AGENT_ID),
        "redirect_uri": f"{BASE_URL}/t/{tenant_a.slug}/sign-in/wecom/callback",
        "state": state,
    }  # fmt: skip
    assert (exchange["method"], exchange["path"]) == ("GET", "/cgi-bin/auth/getuserinfo")
    assert exchange["query"].keys() == {"access_token", "code"}
    assert exchange["query"]["access_token"] in fake.tokens  # the app's token
    assert fake.codes == {}  # the code was used
    assert fake.problems == []

    [signed] = audit_events(app, tenant_a.slug, "user.sign_in")[-1:]
    assert signed == {
        "record_id": user_id, "email": "li.na@tenant-a.example.cn", "method": "wecom",
        "subject": "LiNa",
    }  # fmt: skip


def test_the_app_token_is_fetched_again_once_when_wecom_refuses_it(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, work: Work, fake: FakeWeCom
) -> None:
    _signs_in_as(api_a, work, fake, "zhao@tenant-a.example.cn", "zhao01")
    assert _round_trip(app.test_client(), tenant_a.slug).status_code == 302
    fake.expire_tokens()  # the cached app token is now refused (42001)
    web = app.test_client()
    assert _round_trip(web, tenant_a.slug).status_code == 302
    assert signed_in(web, tenant_a.slug) and fake.token_requests == 2


# --- state ------------------------------------------------------------------------------------


def test_a_callback_with_a_wrong_missing_or_stale_state_is_refused(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, work: Work, fake: FakeWeCom
) -> None:
    _signs_in_as(api_a, work, fake, "wang@tenant-a.example.cn", "wang01")
    callback = f"/t/{tenant_a.slug}/sign-in/wecom/callback"
    web = app.test_client()
    query = _callback_query(web, tenant_a.slug)

    other_browser = app.test_client()  # the code and state, but not this browser's session
    refused = other_browser.get(callback, query_string=query)
    assert refused.status_code == 400
    assert "not started in this browser" in refused.get_data(as_text=True)
    assert not signed_in(other_browser, tenant_a.slug)
    for wrong in (
        lambda q: {**q, "state": q["state"][::-1]},  # another state
        lambda q: {"code": q["code"]},  # none
    ):
        query = _callback_query(web, tenant_a.slug)
        assert web.get(callback, query_string=wrong(query)).status_code == 400
        assert not signed_in(web, tenant_a.slug)
        # a wrong try drops the sign-in: its own state does not work after it
        assert web.get(callback, query_string=query).status_code == 400
    # no code reached WeCom's getuserinfo for any of these
    assert "/cgi-bin/auth/getuserinfo" not in _paths(fake)

    clock = Clock(app)
    query = _callback_query(web, tenant_a.slug)
    clock.advance(601)  # more than ten minutes at WeCom
    assert web.get(callback, query_string=query).status_code == 400

    query = _callback_query(web, tenant_a.slug)
    assert web.get(callback, query_string=query).status_code == 302  # the state, in time
    replay = app.test_client()
    assert replay.get(callback, query_string=query).status_code == 400


# --- refused ----------------------------------------------------------------------------------


def test_a_wecom_member_nobody_is_mapped_to_is_refused_and_audited(
    app: Flask, tenant_a: TenantFixture, work: Work, fake: FakeWeCom
) -> None:
    _allow(work, fake)
    fake.members.add("stranger01")  # in the firm's WeCom, not linked here
    fake.sign_in_as = "stranger01"
    web = app.test_client()
    refused = _round_trip(web, tenant_a.slug)
    assert refused.status_code == 403
    page = refused.get_data(as_text=True)
    assert "<h1>Sign-in did not work</h1>" in page
    assert "Your WeCom account is not linked to a LoanDesk staff member of this firm" in page
    assert not signed_in(web, tenant_a.slug)
    failed = audit_events(app, tenant_a.slug, "user.sign_in_failed")[-1]
    assert failed == {
        "record_id": None, "email": "", "method": "wecom", "subject": "stranger01",
        "reason": "no_account",
    }  # fmt: skip


def test_someone_who_is_not_a_member_of_the_firm_is_refused(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, work: Work, fake: FakeWeCom
) -> None:
    user_id = new_staff(api_a, "ext@tenant-a.example.cn")
    _allow(work, fake)
    work.map(user_id, "ext01")  # mapped, but WeCom vouches for an outsider (openid)
    fake.sign_in_as = "ext01"
    web = app.test_client()
    refused = _round_trip(web, tenant_a.slug)
    assert refused.status_code == 403
    assert "not a member of this firm" in refused.get_data(as_text=True)
    assert not signed_in(web, tenant_a.slug)
    failed = audit_events(app, tenant_a.slug, "user.sign_in_failed")[-1]
    assert (failed["reason"], failed["method"]) == ("not_staff", "wecom")
    assert "subject" not in failed  # nobody was identified, not even the mapped userid


def test_a_deactivated_staff_member_is_refused(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, work: Work, fake: FakeWeCom
) -> None:
    user_id = _signs_in_as(api_a, work, fake, "gone@tenant-a.example.cn", "gone01")
    assert _round_trip(app.test_client(), tenant_a.slug).status_code == 302
    assert api_a.patch(f"/users/{user_id}", json={"status": "deactivated"}).status_code == 200
    web = app.test_client()
    refused = _round_trip(web, tenant_a.slug)
    assert refused.status_code == 403 and "deactivated" in refused.get_data(as_text=True)
    assert not signed_in(web, tenant_a.slug)
    failed = audit_events(app, tenant_a.slug, "user.sign_in_failed")[-1]
    assert failed["reason"] == "deactivated" and failed["record_id"] == user_id
    assert failed["subject"] == "gone01"


def test_a_code_wecom_refuses_gives_a_clear_message_and_no_sign_in(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, work: Work, fake: FakeWeCom
) -> None:
    _signs_in_as(api_a, work, fake, "sun@tenant-a.example.cn", "sun01")
    callback = f"/t/{tenant_a.slug}/sign-in/wecom/callback"
    web = app.test_client()
    query = _callback_query(web, tenant_a.slug)
    refused = web.get(callback, query_string={**query, "code": "not-a-code-wecom-gave"})
    assert refused.status_code == 403
    assert "WeCom did not accept this sign-in" in refused.get_data(as_text=True)
    assert not signed_in(web, tenant_a.slug)
    failed = audit_events(app, tenant_a.slug, "user.sign_in_failed")[-1]
    assert (failed["reason"], failed["method"]) == ("provider_error", "wecom")
    assert failed["error"] == "WeCom errcode 40029: invalid code"
    assert "subject" not in failed  # nobody was identified

    # a code is good once: the one WeCom gave, brought back again, is refused too
    query = _callback_query(web, tenant_a.slug)
    assert web.get(callback, query_string=query).status_code == 302
    web2 = app.test_client()
    again = _callback_query(web2, tenant_a.slug)
    refused = web2.get(callback, query_string={**again, "code": query["code"]})
    assert refused.status_code == 403
    assert audit_events(app, tenant_a.slug, "user.sign_in_failed")[-1]["error"] == (
        "WeCom errcode 40029: invalid code"
    )

    # the person closes WeCom's page: it sends the state back without a code
    fake.sign_in_as = None
    refused = _round_trip(app.test_client(), tenant_a.slug)
    assert refused.status_code == 403
    assert "WeCom sent no sign-in code" in refused.get_data(as_text=True)


def test_wecom_not_answering_in_time_is_refused_quickly(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, work: Work, fake: FakeWeCom
) -> None:
    _signs_in_as(api_a, work, fake, "qian@tenant-a.example.cn", "qian01", timeout_seconds=1)
    fake.sign_in_delay = 2.5
    web = app.test_client()
    refused = _round_trip(web, tenant_a.slug)
    assert refused.status_code == 403
    assert "WeCom cannot be reached right now" in refused.get_data(as_text=True)
    failed = audit_events(app, tenant_a.slug, "user.sign_in_failed")[-1]
    assert failed["reason"] == "provider_unreachable"
    assert failed["error"] == "/cgi-bin/auth/getuserinfo: no answer within 1 s"
    assert not signed_in(web, tenant_a.slug)


# --- off, and tenants apart ---------------------------------------------------------------------


def test_no_button_and_404_unless_the_plugin_is_enabled_with_sign_in_allowed(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, work: Work, fake: FakeWeCom
) -> None:
    slug = tenant_a.slug
    web = app.test_client()

    def offered() -> bool:
        page = web.get(f"/t/{slug}/login").get_data(as_text=True)
        start = web.get(f"/t/{slug}/sign-in/wecom").status_code
        back = web.get(f"/t/{slug}/sign-in/wecom/callback?code=x&state=y").status_code
        assert (start, back) in ((302, 400), (404, 404))
        return "/sign-in/wecom" in page and start == 302

    assert not offered()  # enabled, configured, sign-in not allowed (the default)
    _allow(work, fake)
    assert offered()
    _allow(work, fake, agent_id=None)  # allowed but not configured
    assert not offered()
    _allow(work, fake)
    answer = api_a.put("/plugins/wecom", json={"enabled": False})
    assert answer.status_code == 200, answer.get_json()
    assert not offered()


def test_a_wecom_member_mapped_in_tenant_a_cannot_sign_in_to_tenant_b(
    app: Flask, api_a: ApiClient, api_b: ApiClient, tenant_a: TenantFixture,
    tenant_b: TenantFixture, work: Work, fake: FakeWeCom,
) -> None:  # fmt: skip
    english(app, tenant_b)
    _signs_in_as(api_a, work, fake, "li@tenant-a.example.cn", "li01")
    # Tenant B uses the same WeCom app, and has no link for li01.
    b = Work(app, tenant_b, api_b, fake)
    b.configure(sign_in_enabled=True, login_url=fake.url)
    web = app.test_client()
    refused = _round_trip(web, tenant_b.slug)
    assert refused.status_code == 403 and "not linked" in refused.get_data(as_text=True)
    assert not signed_in(web, tenant_b.slug) and not signed_in(web, tenant_a.slug)
    assert audit_events(app, tenant_b.slug, "user.sign_in_failed")[-1]["subject"] == "li01"
    assert audit_events(app, tenant_b.slug, "user.sign_in") == []

    # a sign-in started at A and brought to B's callback signs nobody in at B
    query = _callback_query(web, tenant_a.slug)
    assert web.get(f"/t/{tenant_b.slug}/sign-in/wecom/callback",
                   query_string=query).status_code == 400  # fmt: skip
    assert not signed_in(web, tenant_b.slug)
    # and A's sign-in gives no session at B
    assert _round_trip(web, tenant_a.slug).status_code == 302
    assert signed_in(web, tenant_a.slug) and not signed_in(web, tenant_b.slug)


# --- secrets ----------------------------------------------------------------------------------


def test_the_app_secret_tokens_and_codes_are_in_no_log_audit_row_or_page(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, work: Work, fake: FakeWeCom,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    _signs_in_as(api_a, work, fake, "zhou@tenant-a.example.cn", "zhou01")
    web = app.test_client()
    pages = [web.get(f"/t/{tenant_a.slug}/login").get_data(as_text=True)]
    query = _callback_query(web, tenant_a.slug)
    callback = f"/t/{tenant_a.slug}/sign-in/wecom/callback"
    pages.append(web.get(callback, query_string={**query, "code": "bad"}).get_data(True))
    codes = [query["code"]]
    query = _callback_query(web, tenant_a.slug)
    codes.append(query["code"])
    pages.append(web.get(callback, query_string=query).get_data(as_text=True))
    fake.sign_in_as = "nobody-here"
    pages.append(_round_trip(app.test_client(), tenant_a.slug).get_data(as_text=True))
    admin = app.test_client()
    web_login(admin, tenant_a)
    for page in ("/admin/audit", "/admin/plugins/wecom/settings"):
        pages.append(admin.get(f"/t/{tenant_a.slug}{page}").get_data(as_text=True))
    pages.append(api_a.get("/plugins/wecom").get_data(as_text=True))

    with tenant_session(app, tenant_a.slug) as session:
        audit = [str(e.diff) for e in session.scalars(select(AuditEvent))]
    assert fake.tokens and "getuserinfo" in caplog.text  # urllib3 logged the calls
    hidden = (*SECRETS, *fake.tokens, codes[1])
    for text in (*pages, *audit, caplog.text):
        for secret in hidden:
            assert secret not in text
    assert any("not_staff" in text for text in audit)
