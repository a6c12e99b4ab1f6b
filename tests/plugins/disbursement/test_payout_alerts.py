"""Payout alerts (需核查): a "paid" from the provider that the order cannot take — a late one
about an attempt that had failed, after staff paid again; one for an order marked failed;
one for an order paid by hand — leaves the order and the loan as they are but raises an
alert (order, audit, event, page, list filter); a repeat of the payout that paid the order
raises none. Clearing it needs the approval permission and a note, and keeps the history."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from loandesk.events import OutboxEvent
from tests.helpers import csrf_from
from tests.plugins.customers.conftest import audit_events
from tests.plugins.disbursement.conftest import PAID_ON, Desk


def _pay(desk: Desk, order_id: str) -> Any:
    return desk.api("finance").post(f"/disbursements/{order_id}/pay", json={"connector": "fakepay"})


def _callback(desk: Desk, headers: dict[str, str], body: bytes) -> Any:
    return desk.app.test_client().post(
        f"/t/{desk.firm.tenant.slug}/disbursements/callbacks/fakepay", data=body, headers=headers
    )


def _order(desk: Desk, order_id: str) -> dict[str, Any]:
    answer = desk.api("finance").get(f"/disbursements/{order_id}")
    assert answer.status_code == 200, answer.get_json()
    return dict(answer.get_json())


def _events(desk: Desk, name: str) -> list[str]:
    with desk.session() as session:
        rows = session.scalars(select(OutboxEvent.record_id).where(OutboxEvent.name == name)).all()
    return [str(r) for r in rows]


def _post(web: FlaskClient, desk: Desk, path: str, data: dict[str, str]) -> Any:
    token = csrf_from(web, desk.page("/"))
    return web.post(desk.page(path), data={**data, "csrf_token": token})


def _failed_then_paid_again(desk: Desk) -> tuple[str, str]:
    """Attempt 1 fails, attempt 2 pays: (loan id, order id)."""
    loan_id = desk.book()
    order_id = desk.approved(loan_id)
    desk.provider.next = ["FAIL", "SUCCESS"]
    assert _pay(desk, order_id).get_json()["status"] == "failed"
    assert _pay(desk, order_id).get_json()["status"] == "paid"
    return loan_id, order_id


def test_a_late_paid_for_a_failed_attempt_after_a_new_one_paid_raises_the_alert(
    desk: Desk,
) -> None:
    loan_id, order_id = _failed_then_paid_again(desk)
    first, second = f"{order_id}-1", f"{order_id}-2"
    assert desk.provider.payouts[first]["payout_id"] == "P0001"
    assert _order(desk, order_id)["alert"] is None
    installments = desk.installments(loan_id)

    # the provider changes its mind: attempt 1 was paid after all — money went out twice
    late = _callback(desk, *desk.provider.callback(first, "SUCCESS"))
    assert late.status_code == 200 and late.get_json()["status"] == "paid"

    order = _order(desk, order_id)
    assert order["status"] == "paid" and order["provider_reference"] == "P0002"
    alert = order["alert"]
    assert first in alert and "P0001" in alert and "12,000.00" in alert and second in alert
    assert order["alert_at"]
    loan = desk.loan(loan_id)
    assert (loan.status, loan.disbursed_on) == ("active", PAID_ON)  # activated once
    assert [i.due_date for i in desk.installments(loan_id)] == [i.due_date for i in installments]
    assert len(audit_events(desk.app, desk.firm, "disbursement.paid")) == 1
    [raised] = audit_events(desk.app, desk.firm, "disbursement.payout_alert")
    assert raised.diff["payout_key"] == first and raised.diff["attempt"] == 1
    assert raised.diff["provider_reference"] == "P0001"
    assert raised.diff["amount"] == "12000.00" and raised.diff["order_status"] == "paid"
    assert _events(desk, "disbursement.payout_alert") == [order_id]

    # the provider repeats its callback: the standing alert is not raised twice
    assert _callback(desk, *desk.provider.callback(first, "SUCCESS")).status_code == 200
    assert len(audit_events(desk.app, desk.firm, "disbursement.payout_alert")) == 1

    # the list filter (API and page) and the order's page show it
    listed = desk.api("finance").get("/disbursements?alert=true").get_json()
    assert [o["id"] for o in listed["items"]] == [order_id]
    other = desk.approved(desk.book())
    everything = desk.api("finance").get("/disbursements").get_json()
    assert {o["id"] for o in everything["items"]} == {order_id, other}
    web = desk.browser("finance")
    listing = web.get(desk.page("/?alert=1")).get_data(as_text=True)
    assert order["number"] in listing and "Needs checking" in listing
    page = web.get(desk.page(f"/{order_id}")).get_data(as_text=True)
    assert 'id="payout-alert"' in page and "does not record" in page and "P0001" in page
    assert f"/{order_id}/alert/clear" in page


def test_a_paid_for_a_failed_order_raises_the_alert_and_stops_a_new_attempt(desk: Desk) -> None:
    loan_id = desk.book()
    order_id = desk.approved(loan_id)
    desk.provider.next = ["PROCESSING"]
    assert _pay(desk, order_id).get_json()["status"] == "paying"
    key = f"{order_id}-1"
    assert _callback(desk, *desk.provider.callback(key, "FAIL")).get_json()["status"] == "failed"
    assert _order(desk, order_id)["alert"] is None  # a failure is no alert

    late = _callback(desk, *desk.provider.callback(key, "SUCCESS"))
    assert late.status_code == 200 and late.get_json()["status"] == "failed"
    order = _order(desk, order_id)
    assert order["status"] == "failed" and key in order["alert"]
    assert desk.loan(loan_id).status == "pending"
    [raised] = audit_events(desk.app, desk.firm, "disbursement.payout_alert")
    assert raised.diff["order_status"] == "failed"

    # paying again while the channel says the money went out could pay twice
    again = _pay(desk, order_id)
    assert again.status_code == 409 and "clear the alert" in again.get_json()["message"]
    assert len(desk.provider.payouts) == 1
    # recording what the bank shows stays possible
    marked = desk.api("finance").post(
        f"/disbursements/{order_id}/mark-paid",
        json={"bank_reference": "ICBC001", "paid_on": PAID_ON.isoformat()},
    )
    assert marked.status_code == 200 and marked.get_json()["alert"] is not None


def test_a_late_paid_while_a_new_attempt_is_paying(desk: Desk) -> None:
    loan_id = desk.book()
    order_id = desk.approved(loan_id)
    desk.provider.next = ["FAIL", "PROCESSING"]
    assert _pay(desk, order_id).get_json()["status"] == "failed"
    assert _pay(desk, order_id).get_json()["status"] == "paying"
    first, second = f"{order_id}-1", f"{order_id}-2"
    assert _callback(desk, *desk.provider.callback(first, "SUCCESS")).status_code == 200
    order = _order(desk, order_id)
    assert order["status"] == "paying" and first in order["alert"] and second in order["alert"]
    assert desk.loan(loan_id).status == "pending"
    # the current attempt's own result still lands; the alert stays for people to check
    paid = _callback(desk, *desk.provider.callback(second, "SUCCESS"))
    assert paid.get_json()["status"] == "paid"
    order = _order(desk, order_id)
    assert order["alert"] and order["provider_reference"] == "P0002"
    assert desk.loan(loan_id).status == "active"
    assert len(audit_events(desk.app, desk.firm, "disbursement.payout_alert")) == 1


def test_a_paid_for_an_order_paid_by_hand_raises_the_alert(desk: Desk) -> None:
    loan_id = desk.book()
    order_id = desk.approved(loan_id)
    desk.provider.next = ["FAIL"]
    assert _pay(desk, order_id).get_json()["status"] == "failed"
    marked = desk.api("finance").post(
        f"/disbursements/{order_id}/mark-paid",
        json={"bank_reference": "ICBC001", "paid_on": PAID_ON.isoformat()},
    )
    assert marked.get_json()["status"] == "paid"
    # the payout key is still attempt 1's, but the order was not paid by it
    assert _callback(desk, *desk.provider.callback(f"{order_id}-1", "SUCCESS")).status_code == 200
    order = _order(desk, order_id)
    assert "ICBC001" in order["alert"] and "P0001" in order["alert"]
    assert len(audit_events(desk.app, desk.firm, "disbursement.paid")) == 1
    assert desk.loan(loan_id).status == "active"


def test_a_repeated_callback_for_the_paying_payout_raises_none(desk: Desk) -> None:
    loan_id = desk.book()
    order_id = desk.approved(loan_id)
    desk.provider.next = ["PROCESSING"]
    _pay(desk, order_id)
    headers, body = desk.provider.callback(f"{order_id}-1", "SUCCESS")
    for _ in range(3):
        assert _callback(desk, headers, body).get_json()["status"] == "paid"
    assert _order(desk, order_id)["alert"] is None
    assert audit_events(desk.app, desk.firm, "disbursement.payout_alert") == []
    assert _events(desk, "disbursement.payout_alert") == []
    assert len(audit_events(desk.app, desk.firm, "disbursement.paid")) == 1
    # a late failure of the payout that paid is no alert either (only money out is)
    assert _callback(desk, *desk.provider.callback(f"{order_id}-1", "FAIL")).status_code == 200
    assert _order(desk, order_id)["alert"] is None
    assert desk.loan(loan_id).status == "active"


def test_clearing_needs_the_permission_and_a_note(desk: Desk) -> None:
    _, order_id = _failed_then_paid_again(desk)
    clear = f"/disbursements/{order_id}/alert/clear"
    none_yet = desk.api("finance").post(clear, json={"note": "核对过"})
    assert none_yet.status_code == 409
    _callback(desk, *desk.provider.callback(f"{order_id}-1", "SUCCESS"))
    alert = _order(desk, order_id)["alert"]

    assert desk.api("officer1").post(clear, json={"note": "我看过了"}).status_code == 403
    officer_page = desk.browser("officer1").get(desk.page(f"/{order_id}")).get_data(as_text=True)
    assert 'id="payout-alert"' in officer_page and "/alert/clear" not in officer_page
    refused = _post(desk.browser("officer1"), desk, f"/{order_id}/alert/clear", {"note": "x"})
    assert refused.status_code == 403
    assert desk.api("finance").post(clear, json={}).status_code == 422
    blank = desk.api("finance").post(clear, json={"note": "  "})
    assert blank.status_code == 422 and "note" in blank.get_json()["errors"]
    web = desk.browser("finance2")
    no_note = _post(web, desk, f"/{order_id}/alert/clear", {"note": ""})
    assert no_note.status_code == 422 and 'id="payout-alert"' in no_note.get_data(as_text=True)
    assert _order(desk, order_id)["alert"] == alert

    note = "与通道核对：第1次放款已退回，银行流水无重复入账"
    done = _post(web, desk, f"/{order_id}/alert/clear", {"note": note})
    assert done.status_code in (302, 303)
    order = _order(desk, order_id)
    assert order["alert"] is None and order["alert_at"] is None
    assert desk.api("finance").get("/disbursements?alert=true").get_json()["items"] == []
    page = web.get(desk.page(f"/{order_id}")).get_data(as_text=True)
    assert 'id="payout-alert"' not in page
    [cleared] = audit_events(desk.app, desk.firm, "disbursement.payout_alert_cleared")
    assert cleared.diff["note"] == note and cleared.diff["alert"] == alert
    assert cleared.actor_id == desk.firm.staff["finance2"].user_id
    assert len(audit_events(desk.app, desk.firm, "disbursement.payout_alert")) == 1  # history
    assert desk.api("finance").post(clear, json={"note": note}).status_code == 409
