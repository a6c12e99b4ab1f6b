"""Disbursement orders through the API: maker-checker (the requester never approves nor
rejects their own order — the service refuses it, and the database would too), the payout
blockers other plugins raise (asked at the request and again before paying), idempotent
requests, the tranche rule, and the co-lending split shown per funder."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tests.plugins.customers.conftest import audit_events
from tests.plugins.disbursement.conftest import CARD, PAID_ON, Desk


def test_the_requester_can_never_approve_their_own_order(desk: Desk) -> None:
    loan_id = desk.book()
    made = desk.request(loan_id, by="finance")  # finance may both request and approve
    assert made.status_code == 201, made.get_json()
    order = made.get_json()
    assert order["status"] == "requested"
    assert order["requested_by_id"] == desk.firm.staff["finance"].user_id

    own = desk.api("finance").post(f"/disbursements/{order['id']}/approve")
    assert own.status_code == 403
    assert "another person" in own.get_json()["message"]
    refused = desk.api("finance").post(
        f"/disbursements/{order['id']}/reject", json={"reason": "自己驳回"}
    )
    assert refused.status_code == 403
    assert desk.api("finance").get(f"/disbursements/{order['id']}").get_json()["status"] == (
        "requested"
    )

    other = desk.api("finance2").post(f"/disbursements/{order['id']}/approve")
    assert other.status_code == 200, other.get_json()
    assert other.get_json()["status"] == "approved"
    assert other.get_json()["reviewed_by_id"] == desk.firm.staff["finance2"].user_id
    assert [e.diff for e in audit_events(desk.app, desk.firm, "disbursement.approved")] == [
        {"status": ["requested", "approved"]}
    ]


def test_the_database_refuses_a_checker_who_is_the_maker(desk: Desk) -> None:
    from loandesk_disbursement.models import Order

    order_id = desk.request(desk.book()).get_json()["id"]
    with pytest.raises(IntegrityError), desk.session() as session:
        session.execute(
            update(Order)
            .where(Order.id == uuid.UUID(order_id))
            .values(reviewed_by_id=Order.requested_by_id)
        )


def test_an_officer_may_request_but_not_approve(desk: Desk) -> None:
    order_id = desk.request(desk.book()).get_json()["id"]
    answer = desk.api("officer2").post(f"/disbursements/{order_id}/approve")
    assert answer.status_code == 403
    assert "disbursement.approve" in answer.get_json()["message"]


def test_a_rejection_needs_a_reason_and_is_kept(desk: Desk) -> None:
    order_id = desk.request(desk.book()).get_json()["id"]
    empty = desk.api("finance").post(f"/disbursements/{order_id}/reject", json={"reason": " "})
    assert empty.status_code == 422
    assert "reason" in empty.get_json()["errors"]
    answer = desk.api("finance").post(
        f"/disbursements/{order_id}/reject", json={"reason": "收款账户与借款人不一致"}
    )
    assert answer.status_code == 200
    assert answer.get_json()["status"] == "rejected"
    assert answer.get_json()["reject_reason"] == "收款账户与借款人不一致"


def test_blockers_refuse_the_request_and_the_payout_listing_every_reason(desk: Desk) -> None:
    loan_id = desk.book()
    desk.blockers.reasons[loan_id] = ["合同尚未签署", "借款人尚未完成身份核验"]
    refused = desk.request(loan_id)
    assert refused.status_code == 409
    assert refused.get_json()["errors"]["loan_id"] == ["合同尚未签署", "借款人尚未完成身份核验"]
    assert desk.api("finance").get("/disbursements").get_json()["total"] == 0

    desk.blockers.reasons.clear()
    order_id = desk.approved(loan_id)
    desk.blockers.reasons[loan_id] = ["合同已作废"]  # the contract was voided meanwhile
    by_hand = desk.api("finance").post(
        f"/disbursements/{order_id}/mark-paid",
        json={"bank_reference": "B1", "paid_on": PAID_ON.isoformat()},
    )
    assert by_hand.status_code == 409
    assert by_hand.get_json()["errors"]["loan_id"] == ["合同已作废"]
    through = desk.api("finance").post(
        f"/disbursements/{order_id}/pay", json={"connector": "fakepay"}
    )
    assert through.status_code == 409
    assert desk.provider.requests == 0
    assert desk.loan(loan_id).status == "pending"


def test_a_repeated_request_key_gives_the_first_order(desk: Desk) -> None:
    loan_id = desk.book()
    first = desk.request(loan_id, headers={"Idempotency-Key": "req-1"})
    again = desk.request(loan_id, headers={"Idempotency-Key": "req-1"}, amount="1.00")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert desk.api("finance").get("/disbursements").get_json()["total"] == 1
    second = desk.request(loan_id)  # a new request while one is open
    assert second.status_code == 409


def test_bad_input_names_the_field(desk: Desk) -> None:
    loan_id = desk.book()
    answer = desk.request(loan_id, account_number="6222020200112233445", amount="12000.001")
    assert answer.status_code == 422
    assert set(answer.get_json()["errors"]) >= {"amount"}
    card = desk.request(loan_id, account_number="6222020200112233445")
    assert card.status_code == 422
    assert "account_number" in card.get_json()["errors"]


def test_one_order_pays_the_whole_principal(desk: Desk) -> None:
    plain = desk.request(desk.book(), amount="6000.00")
    assert plain.status_code == 422
    assert "principal" in plain.get_json()["errors"]["amount"][0]
    tranche_loan = desk.book(product_id=desk.tranche_product_id)
    tranche = desk.request(tranche_loan, amount="6000.00")
    assert tranche.status_code == 422
    assert "tranches" in tranche.get_json()["errors"]["amount"][0]


def test_the_card_is_encrypted_masked_and_found_by_its_hash(desk: Desk) -> None:
    from loandesk_disbursement.models import Order

    from loandesk import sdk

    order = desk.request(desk.book()).get_json()
    assert order["account_number"] != CARD and order["account_number"].endswith("3446")
    finance = desk.api("finance").get(f"/disbursements/{order['id']}").get_json()
    assert finance["account_number"] == CARD  # finance sees it whole
    with desk.session() as session:
        row = session.scalars(select(Order)).one()
        assert CARD not in (row.account_number_enc or "")
        keys = sdk.keyring()
        found = session.scalars(
            select(Order).where(Order.personal_match("account_number", CARD, keys=keys))
        ).all()
        assert [o.id for o in found] == [row.id]


def test_the_co_lending_split_is_shown_per_funder(desk: Desk) -> None:
    loan_id = desk.book("10000.01", co_lending=True)
    order = desk.request(loan_id, amount="10000.01").get_json()
    shares = {s["funder_name"]: (s["share"], Decimal(s["amount"])) for s in order["shares"]}
    assert shares == {
        "某某信托": ("70%", Decimal("7000.00")),
        "自有资金池": ("30%", Decimal("3000.01")),
    }
    assert sum(amount for _, amount in shares.values()) == Decimal("10000.01")
