"""Webhooks on the connectors page: shown once the tenant has a subscription; its test posts
a signed ``webhook.ping`` to each active receiver now (no delivery kept); deliveries sent by
the outbox job are recorded against it."""

from __future__ import annotations

from typing import Any

from tests.helpers import ApiClient
from tests.platform.automations.receiver import Receiver
from tests.platform.flows.api_helpers import ok
from tests.platform.flows.conftest import Desk
from tests.platform.webhooks.conftest import deliveries, emit, run_job


def _webhooks(api: ApiClient) -> list[dict[str, Any]]:
    return [i for i in api.get("/connectors").get_json()["items"] if i["key"] == "webhooks"]


def test_the_test_pings_each_receiver_and_keeps_no_delivery(
    desk: Desk, admin: ApiClient, hook: Receiver, api_a: ApiClient
) -> None:
    assert _webhooks(api_a) == []  # no subscription: no connector
    ok(admin.post("/webhooks", json={"url": hook.url, "events": ["*"]}), 201)
    assert [i["state"] for i in _webhooks(api_a)] == ["unused"]

    found = ok(api_a.post("/connectors/webhooks/test"))
    assert (found["state"], found["last_success_detail"]) == (
        "ok", "1 receiver(s) answered 2xx"
    )  # fmt: skip
    (ping,) = hook.deliveries
    assert ping.signed and ping.headers["X-LoanDesk-Event"] == "webhook.ping"
    assert deliveries(desk) == []

    hook.answers = [500]
    found = ok(api_a.post("/connectors/webhooks/test"))
    assert (found["state"], found["last_error"]) == ("failing", f"{hook.url}: HTTP 500")


def test_deliveries_are_recorded(
    desk: Desk, admin: ApiClient, hook: Receiver, api_a: ApiClient
) -> None:
    ok(admin.post("/webhooks", json={"url": hook.url, "events": ["todo.created"]}), 201)
    hook.answers = [503]
    emit(desk, "todo.created", "t1", title="回访客户")
    run_job(desk, "core.deliver_events")
    run_job(desk, "core.send_webhooks")
    (item,) = _webhooks(api_a)
    assert (item["state"], item["last_error"]) == ("failing", "HTTP 503")
    emit(desk, "todo.created", "t2", title="回访客户")
    run_job(desk, "core.deliver_events")
    run_job(desk, "core.send_webhooks")
    (item,) = _webhooks(api_a)
    assert (item["state"], item["last_success_detail"]) == ("ok", "HTTP 200")
