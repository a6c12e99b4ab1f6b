"""The web pages of personal-information protection: data-subject requests (list, search,
record, steps, reveal) and Administration → Personal data (retention periods, deadline), each
behind its permission, with errors next to the fields."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from loandesk.audit.models import AuditEvent
from loandesk.privacy.requests import local_today
from loandesk.tenancy import service, use
from tests.helpers import ApiClient, csrf_from, web_login

ID_NUMBER = "11010519491231002X"
MOBILE = "13800138000"


def today() -> date:
    """The tenants' business date (Asia/Shanghai) when the test runs, not when the module was
    collected: a run that crosses midnight in Shanghai (16:00 UTC) would otherwise expect
    yesterday's dates."""
    return local_today("Asia/Shanghai")


def _staff(api: ApiClient, email: str, roles: list[str]) -> None:
    response = api.post(
        "/users",
        json={
            "email": email,
            "display_name": email.split("@")[0],
            "password": "Staff-pass-123",
            "roles": roles,
        },
    )
    assert response.status_code == 201, response.get_json()


def _sign_in(app: Flask, slug: str, email: str) -> FlaskClient:
    client = app.test_client()
    token = csrf_from(client, f"/t/{slug}/login")
    response = client.post(
        f"/t/{slug}/login", data={"email": email, "password": "Staff-pass-123", "csrf_token": token}
    )
    assert response.status_code == 302
    return client


def _form(client: FlaskClient, page: str, url: str, **data: object) -> object:
    return client.post(url, data={"csrf_token": csrf_from(client, page), **data})


def _events(app: Flask, slug: str, action: str) -> list[AuditEvent]:
    db = app.extensions["loandesk"].db
    with db.transaction() as session:
        ref = service.get_by_slug(session, slug).ref()
    with use(ref), db.transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_staff_record_a_request_and_take_it_to_its_answer(
    app: Flask, client: FlaskClient, api_a: ApiClient, tenant_a
) -> None:
    web_login(client, tenant_a)
    base = f"/t/{tenant_a.slug}/data-requests"
    assert client.get(base).status_code == 200
    assert 'name="subject_name"' in client.get(f"{base}/new").get_data(as_text=True)

    bad = _form(
        client,
        f"{base}/new",
        f"{base}/new",
        kind="access",
        subject_name="张三",
        subject_id_number="110105194912310021",
        subject_mobile="1380013800",
        received_on=today().isoformat(),
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert 'id="f-subject_id_number-error"' in html and 'id="f-subject_mobile-error"' in html
    assert "身份证号码校验位不正确" in html  # in the catalog already (zh_CN is the default)
    assert 'value="张三"' in html  # what was typed stays in the form
    assert '<tr id="request-' not in client.get(base).get_data(as_text=True)  # none recorded

    created = _form(
        client,
        f"{base}/new",
        f"{base}/new",
        kind="access",
        subject_name="张三",
        subject_id_number=ID_NUMBER,
        received_on=today().isoformat(),
        handler_id="",
    )
    assert created.status_code == 302
    detail = created.headers["Location"]
    page = client.get(detail).get_data(as_text=True)
    assert "张*" in page and "110***********002X" in page and ID_NUMBER not in page

    no_reason = _form(client, detail, f"{detail}/status", to="refused", note="")
    assert no_reason.status_code == 422
    assert 'id="f-note-error"' in no_reason.get_data(as_text=True)
    started = _form(client, detail, f"{detail}/status", to="in_progress")
    assert started.status_code == 302
    request_id = detail.rsplit("/", 1)[1]
    handler = api_a.get(f"/data-requests/{request_id}").get_json()["handler"]
    assert handler["id"] == tenant_a.admin_user_id  # starting it made the admin its handler
    assert 'value="in_progress"' not in client.get(detail).get_data(as_text=True)
    done = _form(client, detail, f"{detail}/status", to="completed", note="已寄送副本")
    assert done.status_code == 302
    page = client.get(detail).get_data(as_text=True)
    assert "已寄送副本" in page and 'name="to"' not in page  # closed: no steps left
    closed_again = _form(client, detail, f"{detail}/status", to="refused", note="x")
    assert closed_again.status_code == 409


def test_overdue_requests_stand_out_and_pages_come_as_fragments_to_htmx(
    client: FlaskClient, api_a: ApiClient, tenant_a
) -> None:
    old = (today() - timedelta(days=30)).isoformat()
    late = api_a.post(
        "/data-requests",
        json={
            "kind": "deletion",
            "subject_name": "李四",
            "subject_mobile": MOBILE,
            "received_on": old,
        },
    ).get_json()
    for _ in range(21):
        api_a.post(
            "/data-requests",
            json={"kind": "access", "subject_name": "王五", "subject_id_number": ID_NUMBER},
        )
    web_login(client, tenant_a)
    base = f"/t/{tenant_a.slug}/data-requests"
    page = client.get(base).get_data(as_text=True)
    row = re.search(rf'<tr id="request-{late["id"]}"[^>]*>', page)
    assert row is not None and 'class="overdue"' in row.group(0)
    assert page.count('data-overdue="true"') == 1
    assert 'hx-get="/t/tenant-a/data-requests?page=2"' in page
    fragment = client.get(f"{base}?page=2", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and text.count('<tr id="request-') == 2
    overdue = client.get(f"{base}?overdue=1").get_data(as_text=True)
    assert overdue.count('<tr id="request-') == 1
    bad_date = client.get(f"{base}?received_from=yesterday")
    assert bad_date.status_code == 422 and 'id="f-received_from-error"' in bad_date.get_data(
        as_text=True
    )


def test_search_is_a_post_and_revealing_is_audited(
    app: Flask, client: FlaskClient, api_a: ApiClient, tenant_a
) -> None:
    item = api_a.post(
        "/data-requests",
        json={"kind": "access", "subject_name": "张三", "subject_mobile": MOBILE},
    ).get_json()
    web_login(client, tenant_a)
    base = f"/t/{tenant_a.slug}/data-requests"
    found = _form(client, base, f"{base}/search", subject="138 0013 8000")
    html = found.get_data(as_text=True)
    assert found.status_code == 200 and f'id="request-{item["id"]}"' in html
    partial = _form(client, base, f"{base}/search", subject="13800")
    assert partial.status_code == 422 and 'id="f-subject-error"' in partial.get_data(as_text=True)

    detail = f"{base}/{item['id']}"
    revealed = client.post(
        f"{detail}/reveal",
        data={"csrf_token": csrf_from(client, detail)},
        headers={"HX-Request": "true"},
    )
    text = revealed.get_data(as_text=True)
    assert revealed.status_code == 200 and MOBILE in text and "<html" not in text
    (event,) = _events(app, tenant_a.slug, "data_request.reveal")
    assert event.record_id == item["id"] and event.actor_label == tenant_a.admin_email


def test_correcting_a_request_in_the_web_ui(
    client: FlaskClient, api_a: ApiClient, tenant_a
) -> None:
    item = api_a.post(
        "/data-requests",
        json={"kind": "correction", "subject_name": "张三", "subject_mobile": MOBILE},
    ).get_json()
    web_login(client, tenant_a)
    edit = f"/t/{tenant_a.slug}/data-requests/{item['id']}/edit"
    form = client.get(edit).get_data(as_text=True)
    assert "138****8000" in form and MOBILE not in form  # never shown in full to edit
    bad = _form(client, edit, edit, due_on="", subject_id_number="123")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'id="f-due_on-error"' in html
    good = _form(
        client,
        edit,
        edit,
        due_on=(today() + timedelta(days=3)).isoformat(),
        subject_id_number=ID_NUMBER,
    )
    assert good.status_code == 302
    assert api_a.get(f"/data-requests/{item['id']}").get_json()["subject"]["id_number"] == (
        "110***********002X"
    )


def test_each_page_needs_its_permission(app: Flask, api_a: ApiClient, tenant_a) -> None:
    _staff(api_a, "audit@a.cn", ["auditor"])
    _staff(api_a, "risk@a.cn", ["risk_manager"])
    _staff(api_a, "collect@a.cn", ["collector"])
    item = api_a.post(
        "/data-requests",
        json={"kind": "access", "subject_name": "张三", "subject_mobile": MOBILE},
    ).get_json()
    base = f"/t/{tenant_a.slug}/data-requests"
    detail = f"{base}/{item['id']}"

    auditor = _sign_in(app, tenant_a.slug, "audit@a.cn")
    listing = auditor.get(base).get_data(as_text=True)
    assert f"{base}/new" not in listing  # may look, not record
    assert auditor.get(detail).status_code == 200
    assert auditor.get(f"{base}/new").status_code == 403
    assert _form(auditor, detail, f"{detail}/status", to="in_progress").status_code == 403
    assert _form(auditor, detail, f"{detail}/reveal").status_code == 403
    assert auditor.get(f"/t/{tenant_a.slug}/admin/privacy").status_code == 403
    nav = listing[listing.index('id="main-nav"') : listing.index("</nav>")]
    assert "个人信息权利请求" in nav and "个人信息保护" not in nav

    risk = _sign_in(app, tenant_a.slug, "risk@a.cn")
    assert _form(risk, detail, f"{detail}/status", to="in_progress").status_code == 302
    assert risk.get(f"/t/{tenant_a.slug}/admin/privacy").status_code == 403

    collector = _sign_in(app, tenant_a.slug, "collect@a.cn")
    assert collector.get(base).status_code == 403
    home = collector.get(f"/t/{tenant_a.slug}/").get_data(as_text=True)
    assert "个人信息权利请求" not in home


@pytest.mark.usefixtures("hello_distribution")
def test_admin_sets_retention_periods_and_the_deadline(
    client: FlaskClient, api_a: ApiClient, tenant_a
) -> None:
    enabled = api_a.client.put(
        "/api/v1/plugins/hello",
        json={"enabled": True, "settings": {"greeting": "hi"}},
        headers={"Authorization": f"Bearer {api_a.token}"},
    )
    assert enabled.status_code == 200
    web_login(client, tenant_a)
    page = f"/t/{tenant_a.slug}/admin/privacy"
    html = client.get(page).get_data(as_text=True)
    assert 'id="period-core.data_request"' in html and 'id="period-hello.contact"' in html
    assert 'name="days-hello.contact"' in html and 'value="15"' in html

    short = _form(client, page, page, **{"days-hello.contact": "10", "data_request_due_days": "15"})
    assert short.status_code == 422
    assert 'id="f-days-hello.contact-error"' in short.get_data(as_text=True)
    late = _form(client, page, page, **{"days-hello.contact": "60", "data_request_due_days": "45"})
    assert late.status_code == 422
    assert 'id="f-data_request_due_days-error"' in late.get_data(as_text=True)
    not_number = _form(
        client, page, page, **{"days-hello.contact": "两年", "data_request_due_days": "15"}
    )
    assert not_number.status_code == 422
    listed = {p["record_type"]: p for p in api_a.get("/retention").get_json()["record_types"]}
    assert listed["hello.contact"]["is_set"] is False  # nothing was saved

    saved = _form(
        client,
        page,
        page,
        **{
            "days-hello.contact": "60",
            "forever-core.data_request": "on",
            "data_request_due_days": "10",
        },
    )
    assert saved.status_code == 302
    listed = {p["record_type"]: p for p in api_a.get("/retention").get_json()["record_types"]}
    assert (listed["hello.contact"]["days"], listed["core.data_request"]["is_set"]) == (60, True)
    assert listed["core.data_request"]["days"] is None
    assert api_a.get("/data-requests/settings").get_json()["data_request_due_days"] == 10
    html = client.get(page).get_data(as_text=True)
    assert 'name="forever-core.data_request" value="on" checked' in html
