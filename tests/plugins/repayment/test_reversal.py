"""Acceptance (issue 10): a reversed payment (冲正) restores the exact prior state of every
installment — every field of every installment is read before a payment, the payment is
posted and reversed, and every field is read again."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.plugins.customers.conftest import audit_events
from tests.plugins.repayment.conftest import Desk, ledger_problems, snapshot


def _loan(desk: Desk, loan_id: str) -> dict:
    return dict(desk.api.get(f"/loans/{loan_id}").get_json())


def test_a_reversed_payment_restores_every_installment_exactly(desk: Desk) -> None:
    loan = desk.book()
    # a partial payment first, so the reversed one starts inside a part-paid installment
    first = desk.pay(loan["id"], "1234.56", dt.date(2025, 6, 1))
    assert first.status_code == 201, first.get_json()
    with desk.session() as session:
        before = snapshot(session, loan["id"])
    credit_before = _loan(desk, loan["id"])["credit_balance"]
    assert any(row[-2] == "partial" for row in before)

    # then one that pays several installments, completes some, and leaves credit
    second = desk.pay(loan["id"], "7000.00", dt.date(2025, 8, 20), body={"reference": "B2"})
    assert second.status_code == 201, second.get_json()
    payment = second.get_json()
    assert Decimal(payment["to_credit"]) > 0
    with desk.session() as session:
        during = snapshot(session, loan["id"])
        assert ledger_problems(session, loan["id"]) == []
    assert during != before

    reversed_ = desk.api.post(
        f"/loans/{loan['id']}/payments/{payment['id']}/reverse",
        json={"reason": "银行退回：账户名不符"},
    )
    assert reversed_.status_code == 200, reversed_.get_json()
    assert reversed_.get_json()["status"] == "reversed"
    with desk.session() as session:
        after = snapshot(session, loan["id"])
        assert ledger_problems(session, loan["id"]) == []
    assert after == before
    assert _loan(desk, loan["id"])["credit_balance"] == credit_before

    # the reversal mirrors every allocation; nothing was deleted
    rows = reversed_.get_json()["allocations"]
    posted = sorted(
        (r["installment_id"] or "", r["part"], r["amount"]) for r in rows if not r["reversal"]
    )
    undone = sorted(
        (r["installment_id"] or "", r["part"], str(-Decimal(r["amount"])))
        for r in rows
        if r["reversal"]
    )
    assert posted == undone and posted
    assert [e.diff["reason"] for e in audit_events(desk.app, desk.firm, "payment.reverse")] == [
        "银行退回：账户名不符"
    ]


def test_a_reversed_payment_cannot_be_reversed_again(desk: Desk) -> None:
    loan = desk.book()
    payment = desk.pay(loan["id"], "500.00", dt.date(2025, 3, 1)).get_json()
    path = f"/loans/{loan['id']}/payments/{payment['id']}/reverse"
    assert desk.api.post(path, json={"reason": "重复入账"}).status_code == 200
    again = desk.api.post(path, json={"reason": "重复入账"})
    assert again.status_code == 409
    assert again.get_json()["message"] == "This payment is already reversed."
    missing = desk.api.post(path, json={"reason": ""})
    assert missing.status_code == 422 and "reason" in missing.get_json()["errors"]


def test_a_payment_that_later_ones_stand_on_is_refused_naming_them(desk: Desk) -> None:
    loan = desk.book()
    first = desk.pay(loan["id"], "500.00", dt.date(2025, 3, 1)).get_json()
    desk.pay(loan["id"], "700.00", dt.date(2025, 3, 2))
    desk.pay(loan["id"], "900.00", dt.date(2025, 3, 3))
    with desk.session() as session:
        before = snapshot(session, loan["id"])
    refused = desk.api.post(
        f"/loans/{loan['id']}/payments/{first['id']}/reverse", json={"reason": "错账"}
    )
    assert refused.status_code == 409
    assert "#2, #3" in refused.get_json()["message"]
    with desk.session() as session:
        assert snapshot(session, loan["id"]) == before


def test_reversing_the_payment_that_settled_a_loan_makes_it_active_again(desk: Desk) -> None:
    loan = desk.book(principal="3000.00", periods=3)
    with desk.session() as session:
        before = snapshot(session, loan["id"])
    total = sum(Decimal(i["principal_due"]) + Decimal(i["interest_due"]) + Decimal(i["fees_due"])
                for i in loan["installments"])  # fmt: skip
    paid = desk.pay(loan["id"], f"{total + Decimal('0.05'):.2f}", dt.date(2025, 5, 1)).get_json()
    settled = _loan(desk, loan["id"])
    assert settled["status"] == "settled" and settled["settled_on"] == "2025-05-01"
    assert settled["credit_balance"] == "0.05"
    assert (
        desk.api.post(
            f"/loans/{loan['id']}/payments/{paid['id']}/reverse", json={"reason": "退票"}
        ).status_code
        == 200
    )
    active = _loan(desk, loan["id"])
    assert (active["status"], active["settled_on"], active["credit_balance"]) == (
        "active",
        None,
        "0.00",
    )
    with desk.session() as session:
        assert snapshot(session, loan["id"]) == before
        assert ledger_problems(session, loan["id"]) == []
