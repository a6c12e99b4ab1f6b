"""Data-subject requests (个人信息权利请求): recorded with a due date, moved received → in progress
→ completed or refused (with a reason), found by the person's exact number, overdue ones
highlighted; personal data encrypted, masked, never in URLs or audit diffs."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, select, text

from loandesk.audit.models import AuditEvent
from loandesk.privacy.requests import local_today
from loandesk.tenancy import service, use
from tests.helpers import ApiClient, fetch_token

ID_NUMBER = "11010519491231002X"
OTHER_ID = "440305199003071236"
MOBILE = "13800138000"


def today() -> date:
    """The tenants' business date (Asia/Shanghai) when the test runs, not when the module was
    collected: a run that crosses midnight in Shanghai (16:00 UTC) would otherwise expect
    yesterday's dates."""
    return local_today("Asia/Shanghai")


def _create(api: ApiClient, **body: Any) -> Any:
    data = {"kind": "access", "subject_name": "张三", "subject_id_number": ID_NUMBER, **body}
    return api.post("/data-requests", json=data)


def _created(api: ApiClient, **body: Any) -> dict[str, Any]:
    response = _create(api, **body)
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def _step(api: ApiClient, request_id: str, status: str, note: str = "") -> Any:
    return api.post(
        f"/data-requests/{request_id}/transitions", json={"status": status, "note": note}
    )


def _search(api: ApiClient, subject: str, **filters: Any) -> Any:
    return api.post("/data-requests/search", json={"subject": subject, **filters})


def _audit(app: Flask, slug: str) -> list[AuditEvent]:
    db = app.extensions["loandesk"].db
    with db.transaction() as session:
        ref = service.get_by_slug(session, slug).ref()
    with use(ref), db.transaction() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _scoped(client, api: ApiClient, *scopes: str) -> ApiClient:  # type: ignore[no-untyped-def]
    created = api.post("/api-clients", json={"name": "limited", "scopes": list(scopes)}).get_json()
    token = fetch_token(client, created["client_id"], created["client_secret"]).get_json()
    return ApiClient(client, token["access_token"])


# --- recording -------------------------------------------------------------------------------


def test_a_request_gets_a_number_a_due_date_and_a_masked_subject(api_a: ApiClient) -> None:
    first = _created(api_a, subject_mobile="+86 138 0013 8000", notes="来电，已核对身份证")
    assert (first["number"], first["status"], first["kind"]) == (1, "received", "access")
    assert first["received_on"] == today().isoformat()
    assert first["due_on"] == (today() + timedelta(days=15)).isoformat()  # the default deadline
    assert first["subject"] == {
        "name": "张*",
        "id_number": "110***********002X",
        "mobile": "138****8000",
    }
    assert first["overdue"] is False and first["handler"] is None
    assert [(h["from_status"], h["to_status"]) for h in first["history"]] == [(None, "received")]
    assert first["history"][0]["actor_label"] == "tests"

    second = _created(api_a, kind="deletion", subject_id_number=None, subject_mobile=MOBILE)
    assert second["number"] == 2 and second["subject"]["id_number"] is None
    fetched = api_a.get(f"/data-requests/{first['id']}").get_json()
    assert fetched["notes"] == "来电，已核对身份证" and fetched["subject"] == first["subject"]


def test_invalid_numbers_and_dates_are_clear_422s_and_record_nothing(api_a: ApiClient) -> None:
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"subject_id_number": "11010519491231002"}, {"subject_id_number"}),  # 17 characters
        ({"subject_id_number": "110105194912310021"}, {"subject_id_number"}),  # check digit
        ({"subject_mobile": "1380013800"}, {"subject_mobile"}),
        ({"subject_mobile": "23800138000"}, {"subject_mobile"}),
        ({"subject_id_number": None}, {"subject_id_number", "subject_mobile"}),  # neither
        ({"subject_name": "  "}, {"subject_name"}),
        ({"kind": "portability"}, {"kind"}),
        ({"received_on": (today() + timedelta(days=1)).isoformat()}, {"received_on"}),
        ({"received_on": "2026-01-10", "due_on": "2026-01-09"}, {"due_on"}),
        ({"received_on": "not a date"}, {"received_on"}),
    ]
    for body, fields in cases:
        response = _create(api_a, **body)
        assert response.status_code == 422, body
        assert response.get_json()["code"] == "validation_error"
        assert set(response.get_json()["errors"]) == fields, body
    problem = _create(api_a, subject_id_number="110105194912310021").get_json()
    assert problem["errors"]["subject_id_number"] == [
        "This resident ID number's check digit is wrong."
    ]
    assert api_a.get("/data-requests").get_json()["total"] == 0


def test_steps_follow_the_status_and_a_refusal_needs_its_reason(
    app: Flask, api_a: ApiClient, tenant_a
) -> None:
    done = _created(api_a)
    started = _step(api_a, done["id"], "in_progress")
    assert started.status_code == 200 and started.get_json()["status"] == "in_progress"
    finished = _step(api_a, done["id"], "completed", "已提供复印件")
    assert finished.get_json()["status"] == "completed" and finished.get_json()["closed_at"]
    assert finished.get_json()["outcome"] == "已提供复印件"
    again = _step(api_a, done["id"], "in_progress")
    assert again.status_code == 409 and again.get_json()["code"] == "conflict"
    assert _step(api_a, done["id"], "received").status_code == 422  # not a step at all

    refused = _created(api_a, kind="deletion")
    no_reason = _step(api_a, refused["id"], "refused", "  ")
    assert no_reason.status_code == 422 and list(no_reason.get_json()["errors"]) == ["note"]
    assert api_a.get(f"/data-requests/{refused['id']}").get_json()["status"] == "received"
    answer = _step(api_a, refused["id"], "refused", "贷款未结清，依法需保存").get_json()
    assert answer["status"] == "refused" and answer["outcome"] == "贷款未结清，依法需保存"
    assert [(h["from_status"], h["to_status"], h["note"]) for h in answer["history"]] == [
        (None, "received", ""),
        ("received", "refused", "贷款未结清，依法需保存"),
    ]

    events = [e for e in _audit(app, tenant_a.slug) if e.record_type == "data_request"]
    assert [e.action for e in events] == [
        "data_request.create",
        "data_request.status",
        "data_request.status",
        "data_request.create",
        "data_request.status",
    ]
    assert events[2].diff == {"status": ["in_progress", "completed"]}
    logged = json.dumps([e.diff for e in events], ensure_ascii=False)
    for personal in (ID_NUMBER, "张三", MOBILE):
        assert personal not in logged


def test_corrections_and_handlers_are_checked_and_audited_without_values(
    app: Flask, api_a: ApiClient, tenant_a
) -> None:
    item = _created(api_a)
    url = f"/data-requests/{item['id']}"
    assert api_a.patch(url, json={"subject_mobile": "138"}).status_code == 422
    assert api_a.patch(url, json={"due_on": "2020-01-01"}).status_code == 422
    both_gone = api_a.patch(url, json={"subject_id_number": None})
    assert both_gone.status_code == 422  # the person would no longer be identifiable
    clerk = api_a.post(
        "/users", json={"email": "clerk@a.cn", "display_name": "职员", "password": "Staff-pass-123"}
    ).get_json()
    not_allowed = api_a.patch(url, json={"handler_id": clerk["id"]})
    assert list(not_allowed.get_json()["errors"]) == ["handler_id"]  # may not handle requests

    due = (today() + timedelta(days=20)).isoformat()
    changed = api_a.patch(
        url,
        json={
            "subject_mobile": MOBILE,
            "handler_id": tenant_a.admin_user_id,
            "due_on": due,
            "notes": "补充手机号",
        },
    )
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["subject"]["mobile"] == "138****8000" and body["due_on"] == due
    assert body["handler"]["id"] == tenant_a.admin_user_id
    update = [e for e in _audit(app, tenant_a.slug) if e.action == "data_request.update"][-1]
    assert update.diff["subject_mobile"] == [None, "***"]  # it had none before
    assert update.diff["notes"] == ["***", "***"]
    assert update.diff["handler_id"] == [None, tenant_a.admin_user_id]
    assert MOBILE not in json.dumps(update.diff)


# --- finding ---------------------------------------------------------------------------------


def test_lists_filter_page_and_put_overdue_requests_first(
    app: Flask, api_a: ApiClient, database_urls
) -> None:
    old = today() - timedelta(days=20)
    late = _created(api_a, received_on=old.isoformat())  # due 5 days ago
    on_time = _created(api_a, kind="correction", subject_id_number=OTHER_ID)
    closed = _created(api_a, received_on=old.isoformat(), kind="deletion")
    _step(api_a, closed["id"], "completed")

    listed = api_a.get("/data-requests").get_json()
    assert [i["number"] for i in listed["items"]] == [late["number"], on_time["number"], 3]
    assert [i["overdue"] for i in listed["items"]] == [True, False, False]
    overdue = api_a.get("/data-requests?overdue=true").get_json()
    assert [i["id"] for i in overdue["items"]] == [late["id"]]
    assert api_a.get("/data-requests?status=open").get_json()["total"] == 2
    assert api_a.get("/data-requests?kind=correction").get_json()["items"][0]["id"] == on_time["id"]
    since = (today() - timedelta(days=1)).isoformat()
    assert api_a.get(f"/data-requests?received_from={since}").get_json()["total"] == 1
    page = api_a.get("/data-requests?per_page=2&page=2").get_json()
    assert (page["total"], page["page"], len(page["items"])) == (3, 2, 1)
    assert api_a.get("/data-requests?status=lost").status_code == 422
    assert api_a.get("/data-requests?per_page=500").status_code == 422


def test_a_person_is_found_by_exact_number_in_the_body_and_only_in_their_tenant(
    api_a: ApiClient, api_b: ApiClient
) -> None:
    mine = _created(api_a, subject_mobile=MOBILE)
    _created(api_a, subject_name="李四", subject_id_number=OTHER_ID)
    _created(api_b, subject_mobile=MOBILE)  # the same person asked the other firm too
    for subject in (
        ID_NUMBER.lower(),
        "110105 19491231 002x",
        "+86 138-0013-8000",
        "8613800138000",
        "张三",
    ):
        found = _search(api_a, subject).get_json()
        assert [i["id"] for i in found["items"]] == [mine["id"]], subject
    assert _search(api_a, "王五").get_json()["total"] == 0
    assert _search(api_a, MOBILE, status="completed").get_json()["total"] == 0
    partial = _search(api_a, "1380013")
    assert partial.status_code == 422 and list(partial.get_json()["errors"]) == ["subject"]
    assert _search(api_b, MOBILE).get_json()["total"] == 1
    assert api_b.get(f"/data-requests/{mine['id']}").status_code == 404


def test_the_deadline_is_a_tenant_setting(client, api_a: ApiClient, api_b: ApiClient) -> None:
    assert api_a.get("/data-requests/settings").get_json() == {"data_request_due_days": 15}
    for bad in (0, 31, "10"):
        response = api_a.client.put(
            "/api/v1/data-requests/settings",
            json={"data_request_due_days": bad},
            headers={"Authorization": f"Bearer {api_a.token}"},
        )
        assert response.status_code == 422, bad
    changed = api_a.client.put(
        "/api/v1/data-requests/settings",
        json={"data_request_due_days": 10},
        headers={"Authorization": f"Bearer {api_a.token}"},
    )
    assert changed.status_code == 200
    assert _created(api_a)["due_on"] == (today() + timedelta(days=10)).isoformat()
    assert _created(api_b)["due_on"] == (today() + timedelta(days=15)).isoformat()

    reader = _scoped(client, api_a, "data-requests:read")
    assert reader.get("/data-requests").status_code == 200
    assert _create(reader).status_code == 403
    assert reader.get("/data-requests/settings").status_code == 403


def test_anonymised_requests_keep_their_facts_and_stop_changing(
    app: Flask, api_a: ApiClient, tenant_a, database_urls
) -> None:
    from loandesk.plugins import runtime
    from loandesk.privacy import retention

    item = _created(api_a, subject_mobile=MOBILE, notes="身份证复印件已存档")
    _step(api_a, item["id"], "refused", "无法核实身份")
    response = api_a.client.put(
        "/api/v1/retention",
        json={"periods": {"core.data_request": 1095}},
        headers={"Authorization": f"Bearer {api_a.token}"},
    )
    assert response.status_code == 200
    raw = create_engine(
        (database_urls.admin_url or database_urls.owner_url).replace(
            "postgresql://", "postgresql+psycopg://"
        )
    )
    with raw.begin() as c:  # closed four years ago
        c.execute(
            text("update data_requests set closed_at = :at"),
            {"at": "2022-01-01 00:00:00"},
        )
    raw.dispose()
    db = app.extensions["loandesk"].db
    with db.transaction() as session:
        ref = service.get_by_slug(session, tenant_a.slug).ref()
    with app.app_context(), use(ref), db.session_factory() as session:
        (run,) = retention.run(session, retention.subjects(runtime.host(), ()), timezone="UTC")
    assert (run.record_type, run.anonymised) == ("core.data_request", 1)

    after = api_a.get(f"/data-requests/{item['id']}").get_json()
    assert after["anonymised_at"] and after["subject"] == {
        "name": None,
        "id_number": None,
        "mobile": None,
    }
    assert (after["notes"], after["outcome"], after["status"], after["kind"]) == (
        "",
        "",
        "refused",
        "access",
    )
    assert after["received_on"] == item["received_on"]
    assert [h["note"] for h in after["history"]] == ["", ""]
    assert _search(api_a, MOBILE).get_json()["total"] == 0
    refused = api_a.patch(f"/data-requests/{item['id']}", json={"notes": "x"})
    assert refused.status_code == 409
    (event,) = [e for e in _audit(app, tenant_a.slug) if e.action == "retention.anonymise"]
    assert event.diff == {
        "cleared": [
            "history_notes",
            "notes",
            "outcome",
            "subject_id_number",
            "subject_mobile",
            "subject_name",
        ],
        "days": 1095,
    }


def test_dates_are_the_tenants_local_dates() -> None:
    from datetime import UTC, datetime

    late_evening = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # 01:00 on 2 March in Shanghai
    assert local_today("Asia/Shanghai", late_evening) == date(2026, 3, 2)
    assert local_today("Europe/Berlin", late_evening) == date(2026, 3, 1)


def test_the_openapi_description_lists_the_new_resources(client) -> None:
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {
        "/api/v1/data-requests",
        "/api/v1/data-requests/search",
        "/api/v1/data-requests/{request_id}",
        "/api/v1/data-requests/{request_id}/transitions",
        "/api/v1/data-requests/settings",
        "/api/v1/retention",
    } <= set(paths)
    listing = paths["/api/v1/data-requests"]["get"]
    assert listing["summary"] == "List requests"
    assert "never goes into a URL" in listing["description"]
    search = paths["/api/v1/data-requests/search"]["post"]
    assert "exact name, ID number or mobile number" in search["description"]
    assert paths["/api/v1/retention"]["put"]["summary"] == "Set retention periods"
