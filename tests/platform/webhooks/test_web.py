"""Administration → Webhooks (事件推送): the list with state and last error, the form with its
errors next to the fields, the delivery log with each attempt and the htmx resend; Chinese
labels where the catalog already has them (the navigation, the event names)."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from tests.helpers import csrf_from, web_login
from tests.platform.automations.receiver import Receiver
from tests.platform.flows.conftest import Desk
from tests.platform.webhooks.conftest import deliveries, emit, run_job, send_at
from tests.plugins.customers.conftest import PASSWORD

HX = {"HX-Request": "true"}


def _admin(desk: Desk, locale: str) -> FlaskClient:
    web = desk.app.test_client()
    assert web_login(web, desk.firm.tenant).status_code == 302
    with web.session_transaction() as session:
        session["locale"] = locale
    return web


def test_add_see_the_log_and_resend(desk: Desk, hook: Receiver) -> None:
    web = _admin(desk, "en")
    base = f"/t/{desk.firm.tenant.slug}/admin/webhooks"
    token = csrf_from(web, f"{base}/new")
    refused = web.post(f"{base}/new", data={"csrf_token": token, "url": "ftp://x"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="f-url-error"' in html or "has-error" in html
    assert "Choose at least one event" in html
    saved = web.post(f"{base}/new", data={"csrf_token": token, "url": hook.url,
                                          "events": ["todo.created"]})  # fmt: skip
    assert saved.status_code == 302
    listing = web.get(base).get_data(as_text=True)
    assert hook.url in listing and 'data-active="true"' in listing
    assert "style=" not in listing

    hook.answers = [500]
    emit(desk)
    run_job(desk, "core.deliver_events")
    run_job(desk, "core.send_webhooks")
    [delivery] = deliveries(desk)
    assert "HTTP 500" in web.get(base).get_data(as_text=True)  # the last error
    log = web.get(f"{base}/{delivery.subscription_id}/log").get_data(as_text=True)
    assert "X-LoanDesk-Signature" in log and "answer 500" in log
    assert 'data-action="resend"' not in log  # still pending: its retries are on their way

    from loandesk.db import utcnow

    send_at(desk, utcnow() + timedelta(minutes=2))  # the retry succeeds
    log = web.get(f"{base}/{delivery.subscription_id}/log").get_data(as_text=True)
    assert 'data-state="succeeded"' in log and 'data-action="resend"' in log
    token = csrf_from(web, f"{base}/{delivery.subscription_id}/log")
    answer = web.post(f"{base}/deliveries/{delivery.id}/resend",
                      data={"csrf_token": token}, headers=HX)  # fmt: skip
    fragment = answer.get_data(as_text=True).strip()
    assert answer.status_code == 200 and fragment.startswith(
        f'<article id="delivery-{delivery.id}"'
    )
    assert 'data-state="pending"' in fragment


def test_the_page_speaks_chinese(desk: Desk) -> None:
    web = _admin(desk, "zh_CN")
    base = f"/t/{desk.firm.tenant.slug}/admin/webhooks"
    assert "事件推送" in web.get(base).get_data(as_text=True)
    assert "新增待办事项" in web.get(f"{base}/new").get_data(as_text=True)


def test_a_credit_officer_cannot_open_it(desk: Desk) -> None:
    web = desk.app.test_client()
    login = f"/t/{desk.firm.tenant.slug}/login"
    token = csrf_from(web, login)
    email = desk.firm.staff["officer1"].email
    web.post(login, data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert web.get(f"/t/{desk.firm.tenant.slug}/admin/webhooks").status_code == 403
