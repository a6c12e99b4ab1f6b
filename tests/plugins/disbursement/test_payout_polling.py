"""Providers that never call back: the poll job (every 10 minutes) asks the channel about
orders ``paying`` and untouched for 5 minutes, and applies its answer as a callback's — a
silent payout becomes paid (the loan activated once) or failed; one order's error leaves it
paying and the others go on; a channel without ``query`` is never asked. The page's "Ask the
provider" button and ``POST /disbursements/{id}/query`` take the same path. A poll and a
callback arriving together apply once (the order's row lock)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from loandesk import sdk
from loandesk.sdk import PluginInfo
from tests.helpers import ApiClient, csrf_from
from tests.plugins.customers.conftest import audit_events
from tests.plugins.disbursement.conftest import PAID_ON, Desk
from tests.plugins.disbursement.payout_server import HttpPayouts


def _pay(desk: Desk, order_id: str, connector: str = "fakepay") -> Any:
    answer = desk.api("finance").post(
        f"/disbursements/{order_id}/pay", json={"connector": connector}
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _silent(desk: Desk, connector: str = "fakepay") -> tuple[str, str]:
    """An order whose payout the provider keeps PROCESSING and never calls back about:
    (loan id, order id)."""
    loan_id = desk.book()
    order_id = desk.approved(loan_id)
    desk.provider.next = ["PROCESSING"]
    assert _pay(desk, order_id, connector)["status"] == "paying"
    return loan_id, order_id


def _age(desk: Desk, order_id: str, minutes: int = 6) -> None:
    """The order has been paying, untouched, for ``minutes``."""
    from loandesk_disbursement.models import Order

    with desk.session() as session:
        session.execute(
            update(Order)
            .where(Order.id == uuid.UUID(order_id))
            .values(updated_at=sdk.utcnow() - dt.timedelta(minutes=minutes))
        )


def _poll(desk: Desk) -> None:
    """The scheduled job, run for the tenant as a worker would."""
    from loandesk.jobs.runtime import execute

    execute(desk.app, f"poll-{uuid.uuid4()}", "disbursement.poll_payouts",
            uuid.UUID(desk.firm.tenant.id), (), 1, lambda done, total: None)  # fmt: skip


def _status(desk: Desk, order_id: str) -> dict[str, Any]:
    return dict(desk.api("finance").get(f"/disbursements/{order_id}").get_json())


def test_the_poll_is_scheduled_every_ten_minutes(desk: Desk) -> None:
    jobs = desk.app.extensions["loandesk.jobs"]
    assert "disbursement.poll_payouts" in jobs.specs
    schedules = {s.name: (plugin, s) for plugin, s in jobs.schedules}
    plugin, schedule = schedules["disbursement.poll"]
    assert (plugin, schedule.cron, schedule.job) == (
        "disbursement", "*/10 * * * *", "disbursement.poll_payouts",
    )  # fmt: skip


def test_polling_turns_a_silent_payout_paid_once(desk: Desk) -> None:
    loan_id, order_id = _silent(desk)
    key = f"{order_id}-1"
    _poll(desk)  # paying for a moment only: a callback may still come
    assert desk.provider.queries == 0 and _status(desk, order_id)["status"] == "paying"

    _age(desk, order_id)
    _poll(desk)  # the provider still processes it
    assert desk.provider.queries == 1 and _status(desk, order_id)["status"] == "paying"
    assert desk.loan(loan_id).status == "pending"

    desk.provider.settle(key, "SUCCESS")  # and tells nobody
    _age(desk, order_id)
    _poll(desk)
    order = _status(desk, order_id)
    assert (order["status"], order["provider_reference"], order["alert"]) == ("paid", "P0001", None)
    loan = desk.loan(loan_id)
    assert (loan.status, loan.disbursed_on) == ("active", PAID_ON)
    [paid] = audit_events(desk.app, desk.firm, "disbursement.paid")
    assert paid.diff["method"] == "fakepay"

    _poll(desk)  # a paid order is not asked again
    assert desk.provider.queries == 2
    # the provider's callback arriving after all changes nothing, raises nothing
    late = desk.app.test_client().post(
        f"/t/{desk.firm.tenant.slug}/disbursements/callbacks/fakepay",
        data=desk.provider.callback(key, "SUCCESS")[1],
        headers=desk.provider.callback(key, "SUCCESS")[0],
    )
    assert late.status_code == 200
    assert _status(desk, order_id)["alert"] is None
    assert len(audit_events(desk.app, desk.firm, "disbursement.paid")) == 1


def test_polling_turns_a_silent_payout_failed(desk: Desk) -> None:
    loan_id, order_id = _silent(desk)
    desk.provider.settle(f"{order_id}-1", "FAIL")
    _age(desk, order_id)
    _poll(desk)
    order = _status(desk, order_id)
    assert (order["status"], order["failure_reason"]) == ("failed", "账户状态异常")
    assert desk.loan(loan_id).status == "pending"
    assert len(audit_events(desk.app, desk.firm, "disbursement.failed")) == 1


def test_one_orders_error_does_not_stop_the_others(desk: Desk) -> None:
    _, lost = _silent(desk)
    loan_id, found = _silent(desk)
    del desk.provider.payouts[f"{lost}-1"]  # the provider has no such payout: 404
    desk.provider.settle(f"{found}-1", "SUCCESS")
    for order_id in (lost, found):
        _age(desk, order_id)
    _poll(desk)
    assert desk.provider.queries == 2
    assert _status(desk, lost)["status"] == "paying"  # left for people (or the next poll)
    assert _status(desk, found)["status"] == "paid"
    assert desk.loan(loan_id).status == "active"


class SilentPayouts(HttpPayouts):
    """A channel whose provider can only call back: no ``query``."""

    PLUGIN = PluginInfo(name="silentpay", title_zh="无查询代付", title_en="No query", version="1")
    key = "silentpay"
    label_zh = "无查询代付通道"
    label_en = "Channel without query"
    query = None  # type: ignore[assignment]


@pytest.fixture
def silent(desk: Desk, api_a: ApiClient) -> Iterator[SilentPayouts]:
    host = desk.app.extensions["loandesk.plugins"]
    connector = SilentPayouts(desk.provider)
    host.register(connector)
    try:
        answer = api_a.put("/plugins/silentpay", json={"enabled": True})
        assert answer.status_code == 200, answer.get_json()
        yield connector
    finally:
        host.pm.unregister(connector)
        host.infos.pop("silentpay", None)
        host.contributions.pop("silentpay", None)


def test_a_channel_without_query_is_skipped(desk: Desk, silent: SilentPayouts) -> None:
    assert not sdk.can_query(silent) and sdk.can_query(HttpPayouts(desk.provider))
    _, order_id = _silent(desk, "silentpay")
    desk.provider.settle(f"{order_id}-1", "SUCCESS")
    _age(desk, order_id)
    _poll(desk)
    assert desk.provider.queries == 0 and _status(desk, order_id)["status"] == "paying"
    asked = desk.api("finance").post(f"/disbursements/{order_id}/query")
    assert asked.status_code == 409 and desk.provider.queries == 0
    page = desk.browser("finance").get(desk.page(f"/{order_id}")).get_data(as_text=True)
    assert "Ask the provider" not in page and "Send again" in page


def test_asking_from_the_page_and_the_api(desk: Desk) -> None:
    loan_id, order_id = _silent(desk)
    web = desk.browser("finance")
    page = web.get(desk.page(f"/{order_id}")).get_data(as_text=True)
    assert "Ask the provider" in page and f"/{order_id}/ask" in page
    officer = desk.browser("officer1")  # may see the order, may not pay it
    assert "Ask the provider" not in officer.get(desk.page(f"/{order_id}")).get_data(as_text=True)
    token = csrf_from(officer, desk.page("/"))
    assert officer.post(desk.page(f"/{order_id}/ask"), data={"csrf_token": token}).status_code == (
        403
    )
    assert desk.api("officer1").post(f"/disbursements/{order_id}/query").status_code == 403

    token = csrf_from(web, desk.page("/"))
    asked = web.post(desk.page(f"/{order_id}/ask"), data={"csrf_token": token})
    assert asked.status_code in (302, 303)  # still processing: nothing changes
    assert desk.provider.queries == 1 and _status(desk, order_id)["status"] == "paying"

    desk.provider.settle(f"{order_id}-1", "SUCCESS")
    answer = desk.api("finance").post(f"/disbursements/{order_id}/query")
    assert answer.status_code == 200 and answer.get_json()["status"] == "paid"
    assert desk.loan(loan_id).status == "active"
    again = desk.api("finance").post(f"/disbursements/{order_id}/query")
    assert again.status_code == 409  # no longer paying
    assert 'id="payout-alert"' not in web.get(desk.page(f"/{order_id}")).get_data(as_text=True)


RACERS = 6


def test_a_poll_and_a_callback_together_apply_once(desk: Desk, database_urls: Any) -> None:
    """Callbacks, asks through the API and the poll job at the same moment, the provider
    having paid: on PostgreSQL the order's row lock (``SELECT ... FOR UPDATE``) makes them
    follow one another, so every callback is answered 200, the loan is activated once and
    no alert is raised (each is the payout that paid the order). SQLite ignores FOR UPDATE:
    two may both read the order paying, and the second is refused by the loan book (already
    active), rolled back and answered 400 (the provider calls back again) — still once."""
    loan_id, order_id = _silent(desk)
    key = f"{order_id}-1"
    headers, body = desk.provider.callback(key, "SUCCESS")
    _age(desk, order_id)
    token = desk.api("finance").token
    start = threading.Barrier(RACERS)
    answers: list[tuple[str, int]] = []
    errors: list[BaseException] = []

    def race(index: int) -> None:
        try:
            client = desk.app.test_client()
            start.wait()
            if index == 0:
                _poll(desk)
                answers.append(("poll", 0))
            elif index % 2:
                path = f"/t/{desk.firm.tenant.slug}/disbursements/callbacks/fakepay"
                answer = client.post(path, data=body, headers=headers)
                answers.append(("callback", answer.status_code))
            else:
                api = ApiClient(client, token)
                answers.append(("query", api.post(f"/disbursements/{order_id}/query").status_code))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    refused = (400,) if database_urls.backend == "sqlite" else ()
    allowed = {"poll": (0,), "callback": (200, *refused), "query": (200, 409)}
    assert len(answers) == RACERS
    for kind, status in answers:
        assert status in allowed[kind], answers
    order = _status(desk, order_id)
    assert (order["status"], order["alert"]) == ("paid", None)
    assert len(audit_events(desk.app, desk.firm, "disbursement.paid")) == 1
    assert audit_events(desk.app, desk.firm, "disbursement.payout_alert") == []
    loan = desk.loan(loan_id)
    assert (loan.status, loan.disbursed_on) == ("active", PAID_ON)
