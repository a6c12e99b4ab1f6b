# ruff: noqa: F811  (the fixture imported from admin_fixtures is used by name)
"""The log of messages to borrowers (借款人消息记录), on the API and the admin page: what was
sent, what waits (held by the quiet hours or not), what failed and why; filters and pages;
only masked addresses; sending a failed message again (audited, through the outbox); who may
read and retry; and never another tenant's messages.

The clock is given: messages written "today" are in 2026, those held by the quiet hours are
written on a night far ahead, so that they are still held whenever the test runs."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture, csrf_from
from tests.platform.notifications.admin_fixtures import Outbox, audited, outbox, scoped_api  # noqa: F401

DAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
AHEAD = datetime(2099, 3, 2, 15, 30, tzinfo=UTC)  # 23:30 there: in the default quiet hours
MOBILE = "13800138000"
HX = {"HX-Request": "true"}


def _notify(outbox: Outbox, tenant: TenantFixture, key: str, **kw: Any) -> uuid.UUID:
    from loandesk import pii
    from loandesk.notifications import service
    from loandesk.plugins import runtime

    options = {"channel": "sms", "to": MOBILE, "body": f"{key} 的内容", "now": DAY, **kw}
    with outbox.session(tenant) as session:
        message = service.notify(
            session,
            options.pop("channel"),
            service.Recipient.borrower(options.pop("to")),
            options.pop("body"),
            key=key,
            channels=runtime.notification_channels(),
            keys=pii.for_current_tenant(),
            **options,
        )
        return message.id


def _send(outbox: Outbox, tenant: TenantFixture, now: datetime) -> int:
    from loandesk import pii
    from loandesk.notifications import service
    from loandesk.plugins import runtime

    with outbox.session(tenant) as session:
        channels, keys = runtime.notification_channels(), pii.for_current_tenant()
        return service.send_due(session, channels, keys, now=now)


@pytest.fixture
def log(outbox: Outbox) -> dict[str, Any]:
    """Tenant A: a failed SMS linked to a customer, a sent e-mail, one held by the quiet hours,
    an urgent one waiting, and a staff notification (not in the log); tenant B: one SMS."""
    customer = str(uuid.uuid4())
    ids = {"failed": _notify(outbox, outbox.a, "failed", record=("customer", customer))}
    outbox.connector.failures = 5
    for attempt in range(5):
        _send(outbox, outbox.a, DAY + timedelta(hours=attempt))
    ids["sent"] = _notify(
        outbox,
        outbox.a,
        "sent",
        channel="email",
        to="wang.fang@example.cn",
        subject="还款提醒",
        body="王芳您好：\n本期应还 1,234.56 元。",
    )
    assert _send(outbox, outbox.a, DAY + timedelta(hours=6)) == 1
    ids["held"] = _notify(outbox, outbox.a, "held", now=AHEAD)
    ids["urgent"] = _notify(outbox, outbox.a, "urgent", now=AHEAD, urgent=True)
    ids["other"] = _notify(outbox, outbox.b, "tenant b", to="13900139000")
    with outbox.session(outbox.a) as session:
        from loandesk import pii
        from loandesk.notifications import service
        from loandesk.plugins import runtime

        staff = service.notify_staff(
            session, [uuid.UUID(outbox.staff["officer"].user_id)], "审批提醒", "staff only",
            key="staff", channels=runtime.notification_channels(), keys=pii.for_current_tenant(),
        )  # fmt: skip
        ids["staff"] = staff[0].id
    return {"ids": ids, "customer": customer}


def _keys(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.get_json()
    return [item["body"].split(" ")[0] for item in answer.get_json()["items"]]


def test_the_api_lists_every_message_to_a_borrower_with_masked_addresses(
    outbox: Outbox, log: dict[str, Any], api_a: ApiClient
) -> None:
    answer = api_a.get("/notifications/messages")
    assert answer.get_json()["total"] == 4
    assert _keys(answer) == ["urgent", "held", "王芳您好：\n本期应还", "failed"]  # newest first
    items = {item["id"]: item for item in answer.get_json()["items"]}
    failed = items[str(log["ids"]["failed"])]
    assert failed["state"] == "failed" and failed["attempts"] == 5
    assert failed["last_error"] == "ConnectionError: provider down"
    assert failed["address_masked"] == "138****8000"
    assert (failed["record_type"], failed["record_id"]) == ("customer", log["customer"])
    assert (failed["held_until"], failed["next_attempt_at"], failed["sent_at"]) == (None,) * 3
    sent = items[str(log["ids"]["sent"])]
    assert (sent["channel"], sent["subject"], sent["state"]) == ("email", "还款提醒", "sent")
    assert sent["address_masked"] == "w***@example.cn" and sent["provider_id"] == "p-1"
    assert sent["sent_at"] == "2026-03-02T08:00:00+00:00"
    held = items[str(log["ids"]["held"])]
    assert held["held_until"] == "2099-03-03T00:00:00+00:00"  # 08:00 the next morning there
    assert (held["state"], held["urgent"], held["attempts"]) == ("pending", False, 0)
    urgent = items[str(log["ids"]["urgent"])]
    assert (urgent["state"], urgent["urgent"], urgent["held_until"]) == ("pending", True, None)
    text = answer.get_data(as_text=True)
    assert MOBILE not in text and "wang.fang" not in text and "address_enc" not in text
    assert "staff only" not in text and "13900139000" not in text and "139****9000" not in text
    one = api_a.get(f"/notifications/messages/{log['ids']['held']}")
    assert one.status_code == 200 and one.get_json() == held


def test_filters_and_pages(outbox: Outbox, log: dict[str, Any], api_a: ApiClient) -> None:
    def keys(query: str) -> list[str]:
        return [k.split("：")[0] for k in _keys(api_a.get(f"/notifications/messages?{query}"))]

    assert keys("state=held") == ["held"]
    assert keys("state=pending") == ["urgent", "held"]
    assert keys("state=failed") == ["failed"]
    assert keys("state=sent&channel=email") == ["王芳您好"]
    assert keys("channel=sms&state=sent") == []
    assert keys(f"record_type=customer&record_id={log['customer']}") == ["failed"]
    assert keys("record_type=application") == []
    assert keys("created_from=2026-03-02&created_to=2026-03-02") == ["王芳您好", "failed"]
    assert keys("created_from=2026-03-03") == ["urgent", "held"]
    assert keys("created_to=2026-03-01") == []
    second = api_a.get("/notifications/messages?per_page=3&page=2").get_json()
    assert (second["total"], second["page"], second["per_page"]) == (4, 2, 3)
    assert [i["body"] for i in second["items"]] == ["failed 的内容"]
    refused = api_a.get("/notifications/messages?state=lost&created_from=yesterday&per_page=500")
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {"state", "created_from", "per_page"}


def test_a_tenant_never_sees_another_tenants_messages(
    outbox: Outbox, log: dict[str, Any], api_a: ApiClient, api_b: ApiClient
) -> None:
    assert _keys(api_b.get("/notifications/messages")) == ["tenant"]
    for message_id in (log["ids"]["failed"], log["ids"]["held"]):
        assert api_b.get(f"/notifications/messages/{message_id}").status_code == 404
        assert api_b.post(f"/notifications/messages/{message_id}/retry").status_code == 404
    assert api_a.get(f"/notifications/messages/{log['ids']['other']}").status_code == 404
    assert api_a.get(f"/notifications/messages/{log['ids']['staff']}").status_code == 404
    web = outbox.admin(outbox.b)
    html = web.get(f"/t/{outbox.b.slug}/admin/notifications/messages").get_data(as_text=True)
    assert "tenant b 的内容" in html and "failed 的内容" not in html and "还款提醒" not in html


def test_a_failed_message_is_sent_again_through_the_outbox(
    outbox: Outbox, log: dict[str, Any], api_a: ApiClient, client: FlaskClient
) -> None:
    failed = log["ids"]["failed"]
    # no quiet hours: sent again now, whatever the hour the test runs at
    assert api_a.put("/notifications/quiet-hours", json={"start": "00:00", "end": "00:00"})
    reader = scoped_api(client, api_a, "notifications:read")
    assert reader.post(f"/notifications/messages/{failed}/retry").status_code == 403
    again = api_a.post(f"/notifications/messages/{failed}/retry")
    assert again.status_code == 200, again.get_json()
    body = again.get_json()
    assert (body["state"], body["attempts"]) == ("pending", 0)
    assert body["last_error"] == "ConnectionError: provider down"  # until the next attempt
    conflict = api_a.post(f"/notifications/messages/{failed}/retry")
    assert conflict.status_code == 409 and conflict.get_json()["code"] == "conflict"
    held = api_a.post(f"/notifications/messages/{log['ids']['held']}/retry")
    assert held.status_code == 409
    assert audited(outbox, outbox.a, "notification.retry") == [
        {"state": ["failed", "pending"], "attempts": [5, 0]}
    ]
    assert _send(outbox, outbox.a, datetime.now(UTC) + timedelta(minutes=1)) == 1
    sent = api_a.get(f"/notifications/messages/{failed}").get_json()
    assert (sent["state"], sent["attempts"], sent["last_error"]) == ("sent", 1, "")
    assert [m.key for m in outbox.connector.sent if m.key == "failed"] == ["failed"]


def test_a_message_sent_again_at_night_waits_out_the_quiet_hours(
    outbox: Outbox, log: dict[str, Any]
) -> None:
    from loandesk.notifications import message_log, service
    from loandesk.notifications.models import Message

    with outbox.session(outbox.a) as session:
        message = message_log.get(session, log["ids"]["failed"])
        service.retry(session, message, timezone="Asia/Shanghai", now=AHEAD)
    with outbox.session(outbox.a) as session:
        row = session.scalars(select(Message).where(Message.id == log["ids"]["failed"])).one()
        assert row.send_after == datetime(2099, 3, 3, 0, 0, tzinfo=UTC)
        assert message_log.held_until(row, AHEAD) == row.send_after


# --- the admin page ---------------------------------------------------------------------------


def _page(outbox: Outbox, tenant: TenantFixture | None = None) -> str:
    return f"/t/{(tenant or outbox.a).slug}/admin/notifications/messages"


def _row(html: str, message_id: uuid.UUID) -> str:
    found = re.search(rf'<tr id="message-{message_id}".*?</tr>', html, re.S)
    assert found, f"no row for {message_id}"
    return found.group(0)


def test_the_log_page_shows_each_message_with_its_state(
    outbox: Outbox, log: dict[str, Any]
) -> None:
    web = outbox.sign_in(outbox.a, outbox.staff["auditor"].email)
    html = web.get(_page(outbox)).get_data(as_text=True)
    assert "4 messages" in html
    assert MOBILE not in html and "wang.fang" not in html and "staff only" not in html
    failed = _row(html, log["ids"]["failed"])
    assert 'data-state="failed"' in failed and "138****8000" in failed
    assert "ConnectionError: provider down" in failed and ">Failed<" in failed
    assert f'href="/t/{outbox.a.slug}/customers/{log["customer"]}">Customer</a>' in failed
    assert 'data-action="retry"' not in failed  # the auditor reads, does not retry
    held = _row(html, log["ids"]["held"])
    assert 'data-held="true"' in held and "Held by the quiet hours" in held
    assert "Goes at 2099-03-03 08:00" in held  # the tenant's time
    sent = _row(html, log["ids"]["sent"])
    assert "还款提醒" in sent and "王芳您好：\n本期应还 1,234.56 元。" in sent
    assert "w***@example.cn" in sent and "2026-03-02 16:00" in sent
    urgent = _row(html, log["ids"]["urgent"])
    assert ">Urgent<" in urgent and ">Waiting to be sent<" in urgent and "data-held" not in urgent
    assert re.search(r'<a class="nav-item[^"]*" href="[^"]*/admin/notifications/messages"', html)


def test_filters_pages_and_the_empty_states_on_the_page(
    outbox: Outbox, log: dict[str, Any]
) -> None:
    web = outbox.admin(outbox.a)
    fragment = web.get(_page(outbox) + "?state=held", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and "1 message" in fragment
    assert f'id="message-{log["ids"]["held"]}"' in fragment
    assert f'id="message-{log["ids"]["urgent"]}"' not in fragment
    page = web.get(_page(outbox) + "?state=failed&channel=sms").get_data(as_text=True)
    assert 'option value="failed" selected' in page and 'option value="sms" selected' in page
    assert "1 message" in page
    empty = web.get(_page(outbox) + "?record_type=customer&record_id=none", headers=HX)
    assert 'data-empty="filtered"' in empty.get_data(as_text=True)
    wrong = web.get(_page(outbox) + "?created_from=March", headers=HX)  # the filters come back
    assert wrong.status_code == 422
    assert re.search(
        r'<div id="f-created_from-error">\s*<div class="field-error">Use a date like 2026-03-01.',
        wrong.get_data(as_text=True),
    )
    for number in range(21):
        _notify(outbox, outbox.a, f"more-{number}", now=DAY - timedelta(days=1))
    second = web.get(_page(outbox) + "?page=2", headers=HX).get_data(as_text=True)
    assert "25 messages" in second and second.count('class="message-row"') == 5
    assert 'aria-current="page">2<' in second


def test_the_log_before_any_message(outbox: Outbox) -> None:
    html = outbox.admin(outbox.a).get(_page(outbox)).get_data(as_text=True)
    assert 'data-empty="none"' in html and "No message has been sent to a borrower yet." in html


def test_an_admin_sends_a_failed_message_again_from_the_page(
    outbox: Outbox, log: dict[str, Any], api_a: ApiClient
) -> None:
    web = outbox.admin(outbox.a)
    failed = log["ids"]["failed"]
    html = web.get(_page(outbox)).get_data(as_text=True)
    assert 'data-action="retry"' in _row(html, failed)
    assert html.count('data-action="retry"') == 1  # failed messages only
    retry = f"{_page(outbox)}/{failed}/retry"
    assert web.post(retry, headers=HX).status_code == 400  # no CSRF token
    token = csrf_from(web, _page(outbox))
    answer = web.post(retry, data={"csrf_token": token}, headers=HX)
    assert answer.status_code == 200
    row = answer.get_data(as_text=True).strip()
    assert row.startswith(f'<tr id="message-{failed}"') and 'data-state="pending"' in row
    assert 'data-action="retry"' not in row
    assert api_a.get(f"/notifications/messages/{failed}").get_json()["state"] == "pending"
    again = web.post(retry, data={"csrf_token": token, "state": "failed"})
    assert again.status_code == 302 and again.headers["Location"].endswith("messages?state=failed")
    assert "Only a failed message can be sent again." in web.get(_page(outbox)).get_data(
        as_text=True
    )
    assert len(audited(outbox, outbox.a, "notification.retry")) == 1


def test_who_may_read_the_log_and_retry(outbox: Outbox, log: dict[str, Any]) -> None:
    officer = outbox.sign_in(outbox.a, outbox.staff["officer"].email)
    assert officer.get(_page(outbox)).status_code == 403
    assert "/admin/notifications/messages" not in officer.get(f"/t/{outbox.a.slug}/").get_data(
        as_text=True
    )
    auditor = outbox.sign_in(outbox.a, outbox.staff["auditor"].email)
    assert auditor.get(_page(outbox)).status_code == 200
    token = csrf_from(auditor, _page(outbox))
    retry = f"{_page(outbox)}/{log['ids']['failed']}/retry"
    assert auditor.post(retry, data={"csrf_token": token}).status_code == 403
    admin_b = outbox.admin(outbox.b)
    token_b = csrf_from(admin_b, _page(outbox, outbox.b))
    assert (
        admin_b.post(
            f"{_page(outbox, outbox.b)}/{log['ids']['failed']}/retry", data={"csrf_token": token_b}
        ).status_code
        == 404
    )
    assert audited(outbox, outbox.a, "notification.retry") == []
