"""Posting payments: allocation by the product's order over the installments due on the day
received (oldest first), the rest kept as credit and not applied to installments not yet due;
the Idempotency-Key; refused input named by field; permissions; audit and events written with
the change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from tests.plugins.customers.conftest import audit_events
from tests.plugins.repayment.conftest import CHEAP_ID, Desk, ledger_problems


def _installments(desk: Desk, loan_id: str) -> list[dict[str, Any]]:
    return list(desk.api.get(f"/loans/{loan_id}").get_json()["installments"])


def test_a_payment_pays_due_installments_oldest_first_in_the_product_order(desk: Desk) -> None:
    loan = desk.book()
    first = loan["installments"][0]
    # on 2025-03-01 only the first installment is due: fees, then interest, then principal
    partial = Decimal(first["fees_due"]) + Decimal(first["interest_due"]) + Decimal("1.00")
    answer = desk.pay(loan["id"], f"{partial:.2f}", dt.date(2025, 3, 1))
    assert answer.status_code == 201, answer.get_json()
    allocations = [
        (a["installment_number"], a["part"], a["amount"]) for a in answer.get_json()["allocations"]
    ]
    assert allocations == [
        (1, "fees", first["fees_due"]),
        (1, "interest", first["interest_due"]),
        (1, "principal", "1.00"),
    ]
    rows = _installments(desk, loan["id"])
    assert rows[0]["status"] == "partial" and rows[1]["status"] == "pending"


def test_money_beyond_what_is_due_is_credit_not_a_future_installment(desk: Desk) -> None:
    loan = desk.book()
    due = sum(
        Decimal(loan["installments"][0][f"{p}_due"]) for p in ("principal", "interest", "fees")
    )
    answer = desk.pay(loan["id"], f"{due + Decimal('500.00'):.2f}", dt.date(2025, 2, 20))
    payment = answer.get_json()
    assert payment["to_credit"] == "500.00"
    assert payment["allocations"][-1] == {
        "installment_id": None,
        "installment_number": None,
        "part": "credit",
        "amount": "500.00",
        "reversal": False,
    }
    rows = _installments(desk, loan["id"])
    assert rows[0]["status"] == "paid" and rows[0]["paid_on"] == "2025-02-20"
    assert rows[1]["status"] == "pending"  # not yet due on 2025-02-20: untouched
    assert desk.api.get(f"/loans/{loan['id']}").get_json()["credit_balance"] == "500.00"


def test_another_allocation_order_is_followed(desk: Desk) -> None:
    loan = desk.book(CHEAP_ID)  # 等额本金, interest → principal → fees → penalty, no fees
    first = loan["installments"][0]
    amount = Decimal(first["interest_due"]) + Decimal("100.00")
    payment = desk.pay(loan["id"], f"{amount:.2f}", dt.date(2025, 2, 15)).get_json()
    assert [(a["part"], a["amount"]) for a in payment["allocations"]] == [
        ("interest", first["interest_due"]),
        ("principal", "100.00"),
    ]


def test_an_idempotency_key_posts_once_and_a_different_body_is_refused(desk: Desk) -> None:
    loan = desk.book()
    headers = {"Idempotency-Key": "bank-20250301-0001"}
    first = desk.pay(loan["id"], "800.00", dt.date(2025, 3, 1), headers=headers)
    again = desk.pay(loan["id"], "800.00", dt.date(2025, 3, 1), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = desk.pay(loan["id"], "800.01", dt.date(2025, 3, 1), headers=headers)
    assert other.status_code == 409
    assert len(desk.api.get(f"/loans/{loan['id']}/payments").get_json()) == 1
    blank = desk.pay(loan["id"], "1.00", dt.date(2025, 3, 1), headers={"Idempotency-Key": " "})
    assert blank.status_code == 422 and "Idempotency-Key" in blank.get_json()["errors"]


def test_bad_payments_are_refused_naming_the_field_and_post_nothing(desk: Desk) -> None:
    loan = desk.book()
    cases = [
        ({"amount": "0", "received_on": "2025-03-01"}, "amount"),
        ({"amount": "10.001", "received_on": "2025-03-01"}, "amount"),
        ({"amount": 10.5, "received_on": "2025-03-01"}, "amount"),
        ({"amount": "10.00", "received_on": "2024-12-31"}, "received_on"),
        ({"amount": "10.00", "received_on": "2999-01-01"}, "received_on"),
        ({"amount": "10.00", "received_on": "yesterday"}, "received_on"),
        ({"amount": "10.00", "received_on": "2025-03-01", "reference": "x" * 101}, "reference"),
    ]
    for body, field in cases:
        answer = desk.api.post(f"/loans/{loan['id']}/payments", json=body)
        assert answer.status_code == 422, (body, answer.get_json())
        assert field in answer.get_json()["errors"], (body, answer.get_json())
    assert desk.api.get(f"/loans/{loan['id']}/payments").get_json() == []
    pending = desk.book(disbursed_on=None)
    refused = desk.pay(pending["id"], "10.00", dt.date(2025, 3, 1))
    assert refused.status_code == 409


def test_posting_and_reversing_need_their_permissions(desk: Desk) -> None:
    loan = desk.book(owner_id=desk.firm.staff["officer1"].user_id)
    officer = desk.firm.staff["officer1"].api
    assert officer.get(f"/loans/{loan['id']}").status_code == 200  # repayment.view
    answer = officer.post(
        f"/loans/{loan['id']}/payments", json={"amount": "1.00", "received_on": "2025-03-01"}
    )
    assert answer.status_code == 403
    assert officer.post("/loans", json={}).status_code in (403, 422)


def test_audit_events_and_domain_events_are_written_with_each_change(desk: Desk) -> None:
    from loandesk.events import OutboxEvent

    loan = desk.book(principal="3000.00", periods=3)
    total = sum(
        Decimal(i[f"{p}_due"])
        for i in loan["installments"]
        for p in ("principal", "interest", "fees")
    )
    paid = desk.pay(loan["id"], f"{total:.2f}", dt.date(2025, 5, 1)).get_json()
    desk.api.post(f"/loans/{loan['id']}/payments/{paid['id']}/reverse", json={"reason": "退票"})
    with desk.session() as session:
        names = [
            e.name
            for e in session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.record_type == "loan")
                .order_by(OutboxEvent.id)
            )
        ]
        assert ledger_problems(session, loan["id"]) == []
    assert names == [
        "loan.booked",
        "loan.activated",
        "payment.posted",
        "loan.settled",
        "payment.reversed",
    ]
    for action in ("loan.book", "loan.activate", "payment.post", "loan.settle", "payment.reverse"):
        assert len(audit_events(desk.app, desk.firm, action)) == 1, action
