"""The webhooks API: checked input with errors per field, audit without secrets, admins
only, and one tenant's subscriptions and deliveries invisible to another (404)."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture
from tests.platform.automations.receiver import Receiver
from tests.platform.flows.api_helpers import client_for, ok, staff
from tests.platform.flows.conftest import Desk
from tests.platform.webhooks.conftest import SCOPES, emit, run_job, secret


def test_problems_are_refused_per_field(desk: Desk, admin: ApiClient) -> None:
    answer = admin.post("/webhooks", json={"url": "ftp://x", "events": ["no.such_event"]})
    assert answer.status_code == 422
    errors = answer.get_json()["errors"]
    assert set(errors) >= {"url", "events"}
    assert admin.post("/webhooks", json={"url": "https://u:p@example.cn/", "events": ["*"]}
                      ).status_code == 422  # fmt: skip


def test_changes_are_audited_without_the_secret(desk: Desk, admin: ApiClient) -> None:
    from loandesk.audit.models import AuditEvent

    sub = ok(admin.post("/webhooks", json={"url": "http://127.0.0.1:9/a", "events": ["*"]}), 201)
    ok(admin.put(f"/webhooks/{sub['id']}",
                 json={"url": "http://127.0.0.1:9/b", "events": ["todo.created"]}))  # fmt: skip
    ok(admin.patch(f"/webhooks/{sub['id']}", json={"active": False}))
    ok(admin.patch(f"/webhooks/{sub['id']}", json={"active": True}))
    with desk.session() as session:
        rows = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.record_type == "webhook_subscription")
                .order_by(AuditEvent.seq)
            )
        )
    assert [r.action for r in rows] == [
        "webhook.create", "webhook.update", "webhook.disable", "webhook.enable",
    ]  # fmt: skip
    assert rows[1].diff["url"] == ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"]
    assert secret(desk) not in json.dumps([r.diff for r in rows])


def test_a_credit_officer_is_refused(desk: Desk) -> None:
    officer = staff(desk, "officer1", SCOPES)
    assert officer.get("/webhooks").status_code == 403
    answer = officer.post("/webhooks", json={"url": "http://127.0.0.1:9/", "events": ["*"]})
    assert answer.status_code == 403 and answer.get_json()["code"]


def test_another_tenant_sees_nothing(
    desk: Desk, admin: ApiClient, tenant_b: TenantFixture, hook: Receiver
) -> None:
    api_b = client_for(desk.app, tenant_b, tenant_b.admin_user_id, SCOPES)  # its admin
    sub = ok(admin.post("/webhooks", json={"url": hook.url, "events": ["*"]}), 201)
    emit(desk)
    run_job(desk, "core.deliver_events")
    run_job(desk, "core.send_webhooks")
    [delivery] = ok(admin.get(f"/webhooks/{sub['id']}/deliveries"))["items"]
    assert api_b.get(f"/webhooks/{sub['id']}").status_code == 404
    assert api_b.get(f"/webhooks/{sub['id']}/deliveries").status_code == 404
    assert api_b.post(f"/webhooks/deliveries/{delivery['id']}/resend").status_code == 404
    assert ok(api_b.get("/webhooks"))["total"] == 0
    assert len(hook.deliveries) == 1


def test_lists_are_paginated(desk: Desk, admin: ApiClient) -> None:
    for n in range(3):
        ok(admin.post("/webhooks", json={"url": f"http://127.0.0.1:9/{n}", "events": ["*"]}), 201)
    page = ok(admin.get("/webhooks?per_page=2&page=2"))
    assert (page["total"], len(page["items"]), page["page"]) == (3, 1, 2)
