"""Six staff press Pay on one approved order at the same moment, each request with its own
Idempotency-Key: the provider is asked for one payout (one payout key), the loan is activated
once, and every answer is the paid order or a 409. On PostgreSQL the order's row lock
(``SELECT ... FOR UPDATE``) makes them follow one another; on SQLite its write lock does."""

from __future__ import annotations

import threading

from tests.helpers import ApiClient
from tests.plugins.customers.conftest import audit_events
from tests.plugins.disbursement.conftest import PAID_ON, Desk

PRESSES = 6


def test_concurrent_pays_pay_once(desk: Desk) -> None:
    loan_id = desk.book()
    order_id = desk.approved(loan_id)
    token = desk.api("finance").token
    start = threading.Barrier(PRESSES)
    answers: list[tuple[int, object]] = [(0, None)] * PRESSES

    def press(index: int) -> None:
        api = ApiClient(desk.app.test_client(), token)
        start.wait()
        response = api.post(
            f"/disbursements/{order_id}/pay",
            json={"connector": "fakepay"},
            headers={"Idempotency-Key": f"press-{index}"},
        )
        answers[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=press, args=(i,)) for i in range(PRESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for status, body in answers:
        assert status in (200, 409), body
        if status == 200:
            assert body["status"] == "paid"  # type: ignore[index]
    assert len(desk.provider.payouts) == 1 and desk.provider.paid == [f"{order_id}-1"]
    assert len(audit_events(desk.app, desk.firm, "disbursement.paid")) == 1
    loan = desk.loan(loan_id)
    assert (loan.status, loan.disbursed_on) == ("active", PAID_ON)
