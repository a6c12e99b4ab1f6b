"""Paying out: through the test provider's HTTP API (paid at once, failed, pending then a
late callback), idempotent payment and callbacks (a retry never pays twice; a second
callback changes nothing), and by hand with the bank's reference — each activating the loan
with its schedule from the actual day paid, in the order's transaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from loandesk import finance
from tests.plugins.customers.conftest import audit_events
from tests.plugins.disbursement.conftest import PAID_ON, Desk


def _pay(desk: Desk, order_id: str, key: str | None = None) -> object:
    headers = {"Idempotency-Key": key} if key else {}
    return desk.api("finance").post(
        f"/disbursements/{order_id}/pay", json={"connector": "fakepay"}, headers=headers
    )


def _callback(desk: Desk, headers: dict[str, str], body: bytes) -> object:
    return desk.app.test_client().post(
        f"/t/{desk.firm.tenant.slug}/disbursements/callbacks/fakepay", data=body, headers=headers
    )


def _schedule_from(desk: Desk, loan_id: str, day: dt.date) -> list[tuple[object, ...]]:
    """The schedule the finance module builds on its own for the loan's terms from ``day``."""
    loan = desk.loan(loan_id)
    terms = loan.product_terms.terms_for(loan.principal, loan.periods, day)
    return [
        (i.due_date, i.principal, i.interest) for i in finance.build_schedule(terms).installments
    ]


def _booked(desk: Desk, loan_id: str) -> list[tuple[object, ...]]:
    return [
        (i.due_date, i.principal_due, i.interest_due)
        for i in desk.installments(loan_id)
        if i.number > 0
    ]


def test_marked_paid_by_hand_activates_the_loan_from_the_actual_date(desk: Desk) -> None:
    loan_id = desk.book()
    order_id = desk.approved(loan_id)
    missing = desk.api("finance").post(
        f"/disbursements/{order_id}/mark-paid", json={"bank_reference": " ", "paid_on": "x"}
    )
    assert missing.status_code == 422
    assert set(missing.get_json()["errors"]) == {"bank_reference", "paid_on"}
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    ahead = desk.api("finance").post(
        f"/disbursements/{order_id}/mark-paid", json={"bank_reference": "B1", "paid_on": future}
    )
    assert ahead.status_code == 422 and "paid_on" in ahead.get_json()["errors"]

    answer = desk.api("finance").post(
        f"/disbursements/{order_id}/mark-paid",
        json={"bank_reference": "ICBC20250303001", "paid_on": PAID_ON.isoformat()},
    )
    assert answer.status_code == 200, answer.get_json()
    order = answer.get_json()
    assert (order["status"], order["method"], order["paid_on"]) == ("paid", "manual", "2025-03-03")
    assert order["bank_reference"] == "ICBC20250303001"
    loan = desk.loan(loan_id)
    assert (loan.status, loan.disbursed_on) == ("active", PAID_ON)
    schedule = _booked(desk, loan_id)
    assert schedule[0][0] == dt.date(2025, 4, 3)
    assert schedule == _schedule_from(desk, loan_id, PAID_ON)
    assert sum(row[1] for row in schedule) == Decimal("12000.00")
    [paid] = audit_events(desk.app, desk.firm, "disbursement.paid")
    assert paid.diff["bank_reference"] == "ICBC20250303001"


def test_paid_at_once_through_the_connector(desk: Desk) -> None:
    loan_id = desk.book()
    order_id = desk.approved(loan_id)
    answer = _pay(desk, order_id, key="pay-1")
    assert answer.status_code == 200, answer.get_json()
    order = answer.get_json()
    assert (order["status"], order["method"], order["provider_reference"]) == (
        "paid", "fakepay", "P0001",
    )  # fmt: skip
    [payout] = desk.provider.payouts.values()
    assert payout["amount"] == "12000.00"
    assert desk.loan(loan_id).disbursed_on == PAID_ON  # the provider's date, not today
    assert _booked(desk, loan_id) == _schedule_from(desk, loan_id, PAID_ON)


def test_a_retried_pay_never_pays_twice(desk: Desk) -> None:
    loan_id = desk.book()
    order_id = desk.approved(loan_id)
    desk.provider.next = ["PROCESSING"]
    first = _pay(desk, order_id, key="pay-1")
    assert first.get_json()["status"] == "paying"
    again = _pay(desk, order_id, key="pay-1")  # the same request retried
    assert again.status_code == 200 and again.get_json()["status"] == "paying"
    assert desk.provider.requests == 1
    resent = _pay(desk, order_id, key="pay-2")  # staff press "send again"
    assert resent.get_json()["status"] == "paying"
    assert desk.provider.requests == 2 and len(desk.provider.payouts) == 1  # one payout
    other = desk.approved(desk.book())
    assert _pay(desk, other, key="pay-1").status_code == 409  # a key is for one order


def test_a_failure_then_a_new_attempt(desk: Desk) -> None:
    loan_id = desk.book()
    order_id = desk.approved(loan_id)
    desk.provider.next = ["FAIL"]
    failed = _pay(desk, order_id).get_json()
    assert (failed["status"], failed["failure_reason"]) == ("failed", "账户状态异常")
    assert desk.loan(loan_id).status == "pending"
    assert len(audit_events(desk.app, desk.firm, "disbursement.failed")) == 1
    paid = _pay(desk, order_id).get_json()
    assert paid["status"] == "paid"
    assert len(desk.provider.payouts) == 2  # a new attempt is a new payout number
    assert desk.provider.paid == [f"{order_id}-2"]


def test_a_late_callback_pays_and_a_second_one_changes_nothing(desk: Desk) -> None:
    loan_id = desk.book()
    order_id = desk.approved(loan_id)
    desk.provider.next = ["PROCESSING"]
    assert _pay(desk, order_id).get_json()["status"] == "paying"
    assert desk.loan(loan_id).status == "pending"
    key = f"{order_id}-1"

    headers, body = desk.provider.callback(key, "SUCCESS")
    forged = _callback(desk, {**headers, "X-Signature": "0" * 64}, body)
    assert forged.status_code == 400
    assert desk.loan(loan_id).status == "pending"
    [refused] = audit_events(desk.app, desk.firm, "callback.refused")  # the forgery leaves a trace
    assert (refused.record_type, refused.record_id) == ("payout_callback", "fakepay")
    assert refused.diff["body_bytes"] == len(body) and refused.diff["reason"]
    assert "0" * 64 not in str(refused.diff) and body.decode() not in str(refused.diff)

    first = _callback(desk, headers, body)
    assert first.status_code == 200 and first.get_json()["status"] == "paid"
    loan = desk.loan(loan_id)
    assert (loan.status, loan.disbursed_on) == ("active", PAID_ON)
    installments = _booked(desk, loan_id)

    again = _callback(desk, headers, body)
    assert again.status_code == 200 and again.get_json()["status"] == "paid"
    late_failure = _callback(desk, *desk.provider.callback(key, "FAIL"))
    assert late_failure.status_code == 200
    order = desk.api("finance").get(f"/disbursements/{order_id}").get_json()
    assert order["status"] == "paid"
    assert _booked(desk, loan_id) == installments
    assert len(audit_events(desk.app, desk.firm, "disbursement.paid")) == 1


def test_a_late_failure_callback(desk: Desk) -> None:
    loan_id = desk.book()
    order_id = desk.approved(loan_id)
    desk.provider.next = ["PROCESSING"]
    _pay(desk, order_id)
    answer = _callback(desk, *desk.provider.callback(f"{order_id}-1", "FAIL"))
    assert answer.get_json()["status"] == "failed"
    assert desk.loan(loan_id).status == "pending"
