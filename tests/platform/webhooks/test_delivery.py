"""Webhook deliveries (issue 12): committed events reach a real receiver on 127.0.0.1,
signed with the tenant's secret; a receiver that fails is retried with backoff (the sender's
clock moved, never slept) until it answers; one that keeps failing gets its subscription
disabled with a to-do for the admins."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.helpers import ApiClient
from tests.platform.automations.receiver import Receiver
from tests.platform.flows.api_helpers import ok
from tests.platform.flows.conftest import Desk
from tests.platform.webhooks.conftest import deliveries, emit, run_job, secret, send_at


def subscribe(admin: ApiClient, url: str, events: list[str] | None = None) -> dict[str, Any]:
    return ok(admin.post("/webhooks", json={"url": url, "events": events or ["*"]}), 201)


def test_a_receiver_failing_three_times_gets_one_success_after_four_attempts(
    desk: Desk, admin: ApiClient, hook: Receiver
) -> None:
    from loandesk.db import utcnow

    sub = subscribe(admin, hook.url, ["todo.created"])
    hook.answers = [500, 503, 502]
    emit(desk, "todo.created", "t1", title="回访客户")
    run_job(desk, "core.deliver_events")  # makes the delivery
    run_job(desk, "core.send_webhooks")  # first attempt: 500
    moment = utcnow()
    for step in (1, 5, 30):  # the backoff's first three waits
        assert send_at(desk, moment) == 0  # not due yet: nothing sent
        moment += timedelta(minutes=step)
        send_at(desk, moment)

    assert len(hook.deliveries) == 4
    assert all(d.signed for d in hook.deliveries)  # checked with the tenant's secret
    [delivery] = deliveries(desk)
    assert (delivery.state, delivery.attempt, delivery.response_status) == ("succeeded", 4, 200)
    assert [a["status"] for a in delivery.attempts] == [500, 503, 502, 200]
    assert [a["error"] for a in delivery.attempts] == ["HTTP 500", "HTTP 503", "HTTP 502", ""]
    keys = {d.headers["Idempotency-Key"] for d in hook.deliveries}
    assert keys == {str(delivery.id)}  # the same key for every attempt
    first = hook.deliveries[0]
    assert first.headers["X-LoanDesk-Event"] == "todo.created"
    assert first.body.decode() == delivery.body  # the log holds the exact body sent
    assert first.data["type"] == "todo.created" and first.data["data"] == {"title": "回访客户"}
    assert first.data["tenant"]["slug"] == desk.firm.tenant.slug
    logged = delivery.attempts[0]["request_headers"]
    assert logged["X-LoanDesk-Signature"] == first.headers["X-LoanDesk-Signature"]
    assert secret(desk) not in str(delivery.attempts)  # the signature, never the secret

    # delivered again (at least once): no second delivery, nothing sent again
    from loandesk.events import OutboxEvent

    with desk.session() as session:
        for event in session.scalars(select(OutboxEvent)):
            event.delivered_at = None
    run_job(desk, "core.deliver_events")
    send_at(desk, moment + timedelta(days=1))
    assert len(hook.deliveries) == 4 and len(deliveries(desk)) == 1
    found = ok(admin.get(f"/webhooks/{sub['id']}"))
    assert found["consecutive_failures"] == 0 and found["last_success_at"]


def test_only_wanted_events_are_delivered(desk: Desk, admin: ApiClient, hook: Receiver) -> None:
    subscribe(admin, hook.url, ["todo.done"])
    emit(desk, "todo.created", "t1")
    emit(desk, "todo.done", "t1")
    run_job(desk, "core.deliver_events")
    run_job(desk, "core.send_webhooks")
    assert [d.headers["X-LoanDesk-Event"] for d in hook.deliveries] == ["todo.done"]
    assert [d.event_type for d in deliveries(desk)] == ["todo.done"]


def test_repeated_failures_disable_the_subscription_with_a_todo_for_admins(
    desk: Desk, admin: ApiClient, hook: Receiver
) -> None:
    from loandesk.audit.models import AuditEvent
    from loandesk.db import utcnow
    from loandesk.todos.models import Todo
    from loandesk.webhooks import service

    sub = subscribe(admin, hook.url)
    hook.answers = [500] * 1000
    for number in range(service.DISABLE_AFTER):
        emit(desk, "todo.created", f"t{number}")
    run_job(desk, "core.deliver_events")
    moment = utcnow()
    for wait in (timedelta(0), *service.BACKOFF):
        moment += wait
        send_at(desk, moment)
    assert len(hook.deliveries) == service.DISABLE_AFTER * service.MAX_ATTEMPTS
    assert {d.state for d in deliveries(desk)} == {"failed"}

    found = ok(admin.get(f"/webhooks/{sub['id']}"))
    assert not found["active"] and found["disabled_at"]
    assert "10 deliveries in a row failed" in found["disabled_reason"]
    with desk.session() as session:
        [todo] = session.scalars(select(Todo).where(Todo.source == "webhook"))
        assert todo.assignee_role == "tenant_admin" and hook.url in todo.title
        audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.disable"))
        assert len(list(audited)) == 1

    # disabled: new events make no delivery; re-enabled, they do again
    emit(desk, "todo.created", "later")
    run_job(desk, "core.deliver_events")
    assert len(deliveries(desk)) == service.DISABLE_AFTER
    enabled = ok(admin.patch(f"/webhooks/{sub['id']}", json={"active": True}))
    assert enabled["active"] and enabled["consecutive_failures"] == 0


def test_resend_starts_a_new_sequence_with_the_same_key(
    desk: Desk, admin: ApiClient, hook: Receiver
) -> None:
    sub = subscribe(admin, hook.url)
    emit(desk)
    run_job(desk, "core.deliver_events")
    run_job(desk, "core.send_webhooks")
    [delivery] = ok(admin.get(f"/webhooks/{sub['id']}/deliveries"))["items"]
    assert delivery["state"] == "succeeded"
    resent = ok(admin.post(f"/webhooks/deliveries/{delivery['id']}/resend"))
    assert (resent["state"], resent["sequence"]) == ("pending", 2)
    assert admin.post(f"/webhooks/deliveries/{delivery['id']}/resend").status_code == 409
    run_job(desk, "core.send_webhooks")
    assert len(hook.deliveries) == 2
    assert hook.deliveries[0].body == hook.deliveries[1].body
    assert hook.deliveries[1].headers["Idempotency-Key"] == delivery["id"]
    [logged] = ok(admin.get(f"/webhooks/{sub['id']}/deliveries"))["items"]
    assert [(a["sequence"], a["number"], a["status"]) for a in logged["attempts"]] == [
        (1, 1, 200),
        (2, 1, 200),
    ]


def test_ping_reaches_the_receiver(desk: Desk, admin: ApiClient, hook: Receiver) -> None:
    sub = subscribe(admin, hook.url)
    ping = ok(admin.post(f"/webhooks/{sub['id']}/ping"), 201)
    assert ping["event_type"] == "webhook.ping"
    run_job(desk, "core.send_webhooks")
    [received] = hook.deliveries
    assert received.signed and received.headers["X-LoanDesk-Event"] == "webhook.ping"
