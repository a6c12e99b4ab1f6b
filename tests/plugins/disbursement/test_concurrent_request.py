"""Several staff request a payout of the same pending loan at the same moment, without
Idempotency-Keys, and others send one key twice at once: the database keeps one live order per
loan (a partial unique index), so one request wins, the others get a 409 naming the open order
or the winner's order back for the same key — never a second order that could be paid."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import func, select

from tests.helpers import ApiClient
from tests.plugins.disbursement.conftest import CARD, Desk

PRESSES = 6


def _together(desk: Desk, loan_id: str, keys: list[str | None]) -> list[tuple[int, dict]]:
    token = desk.api("officer1").token
    start = threading.Barrier(len(keys))
    answers: list[tuple[int, dict]] = [(0, {})] * len(keys)

    def press(index: int) -> None:
        api = ApiClient(desk.app.test_client(), token)
        body = {
            "loan_id": loan_id,
            "amount": "12000.00",
            "account_name": "张三丰",
            "account_number": CARD,
            "bank_name": "中国工商银行",
        }
        headers = {"Idempotency-Key": keys[index]} if keys[index] else {}
        start.wait()
        response = api.post("/disbursements", json=body, headers=headers)
        answers[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=press, args=(i,)) for i in range(len(keys))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _orders_of(desk: Desk, loan_id: str) -> int:
    from loandesk_disbursement.models import Order

    with desk.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Order).where(Order.loan_id == uuid.UUID(loan_id))
            )
            or 0
        )


def test_requests_at_once_make_one_order_per_loan(desk: Desk) -> None:
    loan_id = desk.book()
    answers = _together(desk, loan_id, [None] * PRESSES)
    created = [body for status, body in answers if status == 201]
    assert len(created) == 1, answers
    assert all(status == 409 for status, _ in answers if status != 201), answers
    assert _orders_of(desk, loan_id) == 1


def test_one_key_sent_twice_at_once_gives_one_order(desk: Desk) -> None:
    loan_id = desk.book()
    answers = _together(desk, loan_id, ["same-key"] * 3)
    assert {status for status, _ in answers} <= {200, 201}, answers
    assert len({body["id"] for _, body in answers}) == 1
    assert _orders_of(desk, loan_id) == 1
