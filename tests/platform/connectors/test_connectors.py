"""The connectors page and API with a real connector (the HTTP SMS gateway plugin against its
test gateway): sends through the outbox are recorded against it, a rolled-back caller still
leaves its record, errors are kept without secrets, the test button (htmx, CSRF) re-renders
the row and is audited, permissions are checked, and tenant B never sees A's connectors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ApiClient, TenantFixture, csrf_from, tenant_session, web_login
from tests.platform.connectors.conftest import (
    PASSWORD,
    SECRET,
    Sms,
    audits,
    status_rows,
)
from tests.plugins.sms_http.gateway_server import FakeGateway

MOBILE = "13800138000"


def _send(sms: Sms, key: str) -> int:
    sms.notify(key, "您的借款已获批准")
    return sms.send()


def test_sends_through_a_channel_are_recorded_against_its_connector(
    app: Flask, sms: Sms, gateway: FakeGateway, tenant_a: TenantFixture
) -> None:
    assert status_rows(app, tenant_a.slug) == {}
    assert _send(sms, "m1") == 1
    state, detail, error = status_rows(app, tenant_a.slug)["sms_http"]
    assert (state, detail, error) == ("ok", "sent through sms", "")

    gateway.answers.append("refuse")  # {"code": 1001, "msg": "invalid mobile 1380..."}
    assert _send(sms, "m2") == 0
    state, _detail, error = status_rows(app, tenant_a.slug)["sms_http"]
    assert state == "failing"
    assert "code 1001" in error or "1001" in error
    assert MOBILE not in error and "138****8000" in error

    assert _send(sms, "m3") == 1  # the next success makes it ok again, the error stays shown
    state, _detail, error = status_rows(app, tenant_a.slug)["sms_http"]
    assert state == "ok" and "1001" in error


def test_a_message_the_daily_limit_holds_back_counts_for_nothing(
    app: Flask, sms: Sms, gateway: FakeGateway, tenant_a: TenantFixture
) -> None:
    """The limit is the core's, not the provider's: the gateway was never asked."""
    sms.configure(daily_limit=1)
    assert _send(sms, "m1") == 1
    before = status_rows(app, tenant_a.slug)["sms_http"]
    assert _send(sms, "m2") == 0  # held back: failed as over the limit, never sent
    assert len(gateway.requests) == 1
    assert status_rows(app, tenant_a.slug)["sms_http"] == before  # still ok, no error kept


def test_a_pass_records_each_connector_once_its_last_outcome_deciding_the_state(
    app: Flask, sms: Sms, tenant_a: TenantFixture
) -> None:
    from loandesk.connectors.status import Tally

    with tenant_session(app, tenant_a.slug):
        tally = Tally()
        tally.succeeded("sms_http", "first")
        tally.failed("sms_http", "refused once")
        tally.succeeded("sms_http", "sent again")  # the last outcome: a success
        tally.record()
    assert status_rows(app, tenant_a.slug)["sms_http"] == ("ok", "sent again", "refused once")
    with tenant_session(app, tenant_a.slug):
        tally = Tally()
        tally.succeeded("sms_http", "fine")
        tally.failed("sms_http", RuntimeError("gateway down"))  # last: an error
        tally.record()
    assert status_rows(app, tenant_a.slug)["sms_http"] == ("failing", "fine", "gateway down")


def test_a_caller_that_rolls_back_still_leaves_the_record(
    app: Flask, sms: Sms, tenant_a: TenantFixture
) -> None:
    from loandesk import audit, sdk

    with pytest.raises(RuntimeError):
        with tenant_session(app, tenant_a.slug) as session:
            audit.record(session, "test.write", "test", "1")  # the caller holds a write
            session.flush()
            sdk.connector_failed("sms_http", f"refused key {SECRET} for {MOBILE}")
            raise RuntimeError("the caller's transaction rolls back")
    assert audits(app, tenant_a.slug, "test.write") == []
    _state, _detail, error = status_rows(app, tenant_a.slug)["sms_http"]
    assert error == "refused key *** for 138****8000"


def test_errors_are_scrubbed_of_secrets_as_text_and_url_encoded_and_cut() -> None:
    from loandesk.connectors.status import scrubbed

    text = "GET /x?secret=a%2Fb%2Bc+d&again=a/b+c d for 13800138000\n" + "x" * 900
    found = scrubbed(text, ["a/b+c d", "ab"])
    assert "a/b+c d" not in found and "a%2Fb%2Bc+d" not in found
    assert found.startswith("GET /x?secret=***&again=*** for 138****8000 x")
    assert len(found) == 500


def test_the_api_lists_and_tests_connectors(
    app: Flask, sms: Sms, gateway: FakeGateway, api_a: ApiClient, tenant_a: TenantFixture
) -> None:
    listed = api_a.get("/connectors")
    assert listed.status_code == 200
    body = listed.get_json()
    assert body["total"] == 1 and body["page"] == 1
    (item,) = body["items"]
    assert item["key"] == "sms_http" and item["plugin"] == "sms_http"
    assert item["state"] == "unused" and item["channels"] == ["sms"]
    assert item["label_zh"] == "短信网关（HTTP）"

    tested = api_a.post("/connectors/sms_http/test")
    assert tested.status_code == 200, tested.get_json()
    # the test server has no HEAD: it answers 501, which still shows a server answering
    assert tested.get_json()["state"] == "ok"
    assert "HTTP 501" in tested.get_json()["last_success_detail"]
    assert gateway.requests == []  # nothing was sent
    assert audits(app, tenant_a.slug, "connector.tested") == [
        ("sms_http", {"result": [None, "ok"]})
    ]

    assert api_a.post("/connectors/nope/test").status_code == 404
    assert api_a.post("/connectors/sms_aliyun/test").status_code == 404  # installed, not enabled


def test_a_failed_test_is_kept_as_the_last_error(
    sms: Sms, gateway: FakeGateway, api_a: ApiClient
) -> None:
    sms.configure(gateway_url="http://127.0.0.1:9/sms/send", timeout_seconds=1)
    tested = api_a.post("/connectors/sms_http/test")
    assert tested.status_code == 200
    found = tested.get_json()
    assert found["state"] == "failing"
    assert found["last_error"] == "the gateway cannot be reached (ConnectionError)"
    assert api_a.get("/connectors").get_json()["items"][0]["state"] == "failing"


def test_tenant_b_never_sees_tenant_a_connectors(
    sms: Sms, api_a: ApiClient, api_b: ApiClient
) -> None:
    assert api_a.post("/connectors/sms_http/test").status_code == 200
    assert api_b.get("/connectors").get_json() == {
        "items": [], "page": 1, "per_page": 20, "total": 0
    }  # fmt: skip
    assert api_b.post("/connectors/sms_http/test").status_code == 404


def test_a_staff_member_without_plugins_manage_is_refused(
    app: Flask, sms: Sms, officer: tuple[str, ApiClient], tenant_a: TenantFixture
) -> None:
    email, api = officer
    for answer in (api.get("/connectors"), api.post("/connectors/sms_http/test")):
        assert answer.status_code == 403
        assert answer.get_json()["code"] == "forbidden"
    assert audits(app, tenant_a.slug, "connector.tested") == []

    web = app.test_client()
    token = csrf_from(web, f"/t/{tenant_a.slug}/login")
    web.post(f"/t/{tenant_a.slug}/login",
             data={"email": email, "password": PASSWORD, "csrf_token": token})  # fmt: skip
    assert web.get(f"/t/{tenant_a.slug}/").status_code == 200  # signed in
    assert web.get(f"/t/{tenant_a.slug}/admin/connectors").status_code == 403


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found
    return found.group(1)


def test_the_page_shows_each_connector_and_its_test_button_swaps_the_row(
    app: Flask, client: FlaskClient, sms: Sms, gateway: FakeGateway, tenant_a: TenantFixture
) -> None:
    web_login(client, tenant_a)
    page = f"/t/{tenant_a.slug}/admin/connectors"
    html = client.get(page).get_data(as_text=True)
    assert 'id="connector-sms_http" data-state="unused"' in html
    assert f'hx-post="{page}/sms_http/test"' in html
    assert "连接器" in client.get(f"/t/{tenant_a.slug}/").get_data(as_text=True)  # in the menu

    refused = client.post(f"{page}/sms_http/test", headers={"HX-Request": "true"})
    assert refused.status_code in (400, 403)  # no CSRF token: nothing runs
    assert audits(app, tenant_a.slug, "connector.tested") == []

    answer = client.post(
        f"{page}/sms_http/test",
        data={"csrf_token": _csrf(html)},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    fragment = answer.get_data(as_text=True)
    assert fragment.lstrip().startswith('<tr id="connector-sms_http" data-state="ok"')
    assert "<html" not in fragment and 'role="status"' in fragment
    assert len(audits(app, tenant_a.slug, "connector.tested")) == 1

    gateway_url = "http://127.0.0.1:9/sms/send"
    sms.configure(gateway_url=gateway_url, timeout_seconds=1)
    answer = client.post(
        f"{page}/sms_http/test", data={"csrf_token": _csrf(html)}, headers={"HX-Request": "true"}
    )
    fragment = answer.get_data(as_text=True)
    assert 'data-state="failing"' in fragment
    assert "the gateway cannot be reached (ConnectionError)" in fragment
    assert (
        client.post(
            f"{page}/nope/test", data={"csrf_token": _csrf(html)}, headers={"HX-Request": "true"}
        ).status_code
        == 404
    )


def test_without_a_connector_plugin_the_page_points_to_the_plugins_page(
    client: FlaskClient, tenant_b: TenantFixture
) -> None:
    web_login(client, tenant_b)
    html = client.get(f"/t/{tenant_b.slug}/admin/connectors").get_data(as_text=True)
    assert "empty-state" in html
    assert f'href="/t/{tenant_b.slug}/admin/plugins"' in html


def test_a_connector_key_outside_its_plugin_is_refused() -> None:
    from loandesk.connectors import Connector, service

    def never(session: Any) -> str:
        return ""

    with pytest.raises(ValueError, match="start its key with 'sms_http'"):
        service._checked(
            [[Connector("email", "x", "x", "sms_http", never)]], frozenset({"sms_http"})
        )
