# ruff: noqa: F811  (the fixture imported from admin_fixtures is used by name)
"""SMS templates (短信模板): kept per tenant through the API (paged, audited, checked, 4xx with
the field named) and the admin page; ``sdk.send_sms`` checks the params against the
template's placeholders, logs the rendered text and hands the channel the template's code and
its params in placeholder order; a tenant never sees another's templates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture, csrf_from
from tests.platform.notifications.admin_fixtures import Outbox, audited, outbox, scoped_api  # noqa: F401

MOBILE = "13800138000"
DAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
APPROVED = {
    "key": "loan.approved",
    "name": "借款获批",
    "text": "{name}您好，您的借款 {amount} 元已获批准，{name}请于 {date} 前签约。",
    "provider_code": "SMS_465012345",
}


def _send(outbox: Outbox, tenant: TenantFixture, params: dict[str, Any], **kw: Any) -> Any:
    from loandesk import sdk

    with outbox.session(tenant) as session:
        message = sdk.send_sms(session, MOBILE, kw.pop("template", "loan.approved"), params, **kw)
        return message.id


def test_templates_are_kept_through_the_api_paged_checked_and_audited(
    outbox: Outbox, api_a: ApiClient, api_b: ApiClient
) -> None:
    created = api_a.post("/sms-templates", json=APPROVED)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["placeholders"] == ["name", "amount", "date"] and body["enabled"] is True
    again = api_a.post("/sms-templates", json=APPROVED)
    assert again.status_code == 409
    bad = api_a.post(
        "/sms-templates", json={**APPROVED, "key": "Bad Key", "text": "金额 {amount", "name": ""}
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"key", "text", "name"}
    for n in range(3):
        extra = {**APPROVED, "key": f"remind.{n}", "text": "提醒 {n}", "provider_code": f"SMS_{n}"}
        assert api_a.post("/sms-templates", json=extra).status_code == 201
    page = api_a.get("/sms-templates?per_page=2&page=2").get_json()
    assert (page["total"], [t["key"] for t in page["items"]]) == (4, ["remind.1", "remind.2"])
    assert api_b.get("/sms-templates").get_json()["total"] == 0
    assert api_b.get(f"/sms-templates/{body['id']}").status_code == 404

    changed = api_a.patch(f"/sms-templates/{body['id']}", json={"enabled": False, "key": "x"})
    assert changed.status_code == 422  # the key stays
    changed = api_a.patch(f"/sms-templates/{body['id']}", json={"enabled": False})
    assert changed.status_code == 200 and changed.get_json()["enabled"] is False
    assert api_a.delete(f"/sms-templates/{body['id']}").status_code == 204
    assert api_a.get(f"/sms-templates/{body['id']}").status_code == 404
    assert audited(outbox, outbox.a, "sms_template.update") == [{"enabled": [True, False]}]
    assert audited(outbox, outbox.a, "sms_template.create")[0]["key"] == [None, "loan.approved"]
    assert len(audited(outbox, outbox.a, "sms_template.delete")) == 1


def test_reading_and_changing_need_their_scopes(
    outbox: Outbox, client: FlaskClient, api_a: ApiClient
) -> None:
    reader = scoped_api(client, api_a, "notifications:read")
    assert reader.get("/sms-templates").status_code == 200
    assert reader.post("/sms-templates", json=APPROVED).status_code == 403
    other = scoped_api(client, api_a, "users:read")
    assert other.get("/sms-templates").status_code == 403


def test_send_sms_renders_the_text_and_hands_the_channel_the_code_and_ordered_params(
    outbox: Outbox, api_a: ApiClient
) -> None:
    from loandesk.notifications.models import Message

    assert api_a.post("/sms-templates", json=APPROVED).status_code == 201
    params = {"date": "3月9日", "amount": "5,000.00", "name": "张三"}
    message_id = _send(outbox, outbox.a, params, record_type="loan", record_id="L1", urgent=True)
    text = "张三您好，您的借款 5,000.00 元已获批准，张三请于 3月9日 前签约。"
    with outbox.session(outbox.a) as session:
        row = session.scalars(select(Message).where(Message.id == message_id)).one()
        assert (row.body, row.template_key, row.template_code) == (
            text, "loan.approved", "SMS_465012345",
        )  # fmt: skip
        assert list(row.template_params.items()) == [
            ("name", "张三"), ("amount", "5,000.00"), ("date", "3月9日"),
        ]  # fmt: skip
        assert (row.record_type, row.record_id) == ("loan", "L1")
    from loandesk.notifications import service
    from loandesk.plugins import runtime

    with outbox.session(outbox.a) as session:
        from loandesk import pii

        assert service.send_due(session, runtime.notification_channels(),
                                pii.for_current_tenant()) == 1  # fmt: skip
    sent = outbox.connector.sent[-1]
    assert sent.body == text and sent.template is not None
    assert (sent.template.code, sent.template.params, sent.template.text) == (
        "SMS_465012345", (("name", "张三"), ("amount", "5,000.00"), ("date", "3月9日")), text,
    )  # fmt: skip
    logged = api_a.get(f"/notifications/messages/{message_id}").get_json()
    assert logged["body"] == text and logged["template_key"] == "loan.approved"


@pytest.mark.parametrize(
    ("template", "params", "errors"),
    [
        ("loan.approved", {"name": "张三", "amount": "1"}, {"params.date"}),
        ("loan.approved", {"name": "张", "amount": "1", "date": "d", "x": "1"}, {"params.x"}),
        ("loan.approved", {"name": None, "amount": "1", "date": "d"}, {"params.name"}),
        ("loan.approved", {"name": "a" * 501, "amount": "1", "date": "d"}, {"params.name"}),
        ("no.such", {}, {"template"}),
        ("disabled", {}, {"template"}),
    ],
)
def test_send_sms_refuses_params_that_do_not_fit_the_template(
    outbox: Outbox, api_a: ApiClient, template: str, params: dict[str, Any], errors: set[str]
) -> None:
    from loandesk.errors import ValidationFailed
    from loandesk.notifications.models import Message

    assert api_a.post("/sms-templates", json=APPROVED).status_code == 201
    off = {**APPROVED, "key": "disabled", "text": "x", "enabled": False}
    assert api_a.post("/sms-templates", json=off).status_code == 201
    with pytest.raises(ValidationFailed) as refused:
        _send(outbox, outbox.a, params, template=template)
    assert set(refused.value.errors) == errors
    with outbox.session(outbox.a) as session:
        assert session.scalars(select(Message)).all() == []


def test_the_admin_page_lists_adds_and_changes_templates(outbox: Outbox) -> None:
    web = outbox.admin(outbox.a)
    base = f"/t/{outbox.a.slug}/admin/notifications/sms-templates"
    assert "No SMS template yet." in web.get(base).get_data(as_text=True)
    token = csrf_from(web, f"{base}/new")
    refused = web.post(f"{base}/new", data={**APPROVED, "text": "{oops", "csrf_token": token})
    assert refused.status_code == 422
    assert "Write each placeholder as {name}" in refused.get_data(as_text=True)
    added = web.post(f"{base}/new", data={**APPROVED, "enabled": "on", "csrf_token": token})
    assert added.status_code == 302
    page = web.get(base).get_data(as_text=True)
    assert "loan.approved" in page and "SMS_465012345" in page
    with outbox.session(outbox.a) as session:
        from loandesk.notifications.models import SmsTemplate

        row = session.scalars(select(SmsTemplate)).one()
    changed = web.post(
        f"{base}/{row.id}", data={**APPROVED, "provider_code": "SMS_9", "csrf_token": token}
    )
    assert changed.status_code == 302
    assert audited(outbox, outbox.a, "sms_template.update") == [
        {"provider_code": ["SMS_465012345", "SMS_9"], "enabled": [True, False]}
    ]
    officer = outbox.sign_in(outbox.a, outbox.staff["officer"].email)
    assert officer.get(base).status_code == 403
