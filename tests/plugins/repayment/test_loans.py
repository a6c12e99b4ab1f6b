"""Booking and activating loans: the product's ranges and the rate cap (IRR with fees), the
schedule written from the actual disbursement date, funders' shares, and the receivables
booked in the ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.plugins.repayment.conftest import GREEDY_ID, PRODUCT_ID, Desk, ledger_problems


def test_a_loan_booked_with_disbursed_on_is_active_with_its_schedule(desk: Desk) -> None:
    loan = desk.book()
    assert loan["status"] == "active"
    assert loan["disbursed_on"] == "2025-01-15"
    assert loan["number"].startswith("DK")
    installments = loan["installments"]
    assert [i["number"] for i in installments] == list(range(1, 13))
    assert installments[0]["due_date"] == "2025-02-15"
    principal = sum(Decimal(i["principal_due"]) for i in installments)
    assert principal == Decimal("12000.00")
    assert {i["fees_due"] for i in installments} == {"10.00"}
    assert loan["funders"] == [
        {
            "funder_id": loan["funders"][0]["funder_id"],
            "code": "OWN",
            "name": "自有资金",
            "kind": "own",
            "share": "1",
        }
    ]
    assert Decimal(loan["annual_rate_irr"]) > Decimal("0.12")  # the fees count
    with desk.session() as session:
        assert ledger_problems(session, loan["id"]) == []


def test_terms_outside_the_product_or_over_the_cap_are_refused_naming_the_field(
    desk: Desk,
) -> None:
    body = {"customer_id": desk.customer_id, "product_id": str(PRODUCT_ID), "periods": 12}
    low = desk.api.post("/loans", json={**body, "principal": "999.99"})
    assert low.status_code == 422 and "principal" in low.get_json()["errors"]
    long = desk.api.post("/loans", json={**body, "principal": "5000.00", "periods": 36})
    assert long.status_code == 422 and "periods" in long.get_json()["errors"]
    greedy = desk.api.post(
        "/loans", json={**body, "product_id": str(GREEDY_ID), "principal": "5000.00"}
    )
    assert greedy.status_code == 422, greedy.get_json()
    assert "annual_rate" in greedy.get_json()["errors"]
    nobody = desk.api.post(
        "/loans", json={**body, "customer_id": str(PRODUCT_ID), "principal": "5000.00"}
    )
    assert nobody.status_code == 422 and "customer_id" in nobody.get_json()["errors"]
    assert desk.api.get("/loans").get_json()["total"] == 0


def test_a_pending_loan_activates_on_the_actual_disbursement_date(desk: Desk) -> None:
    loan = desk.book(disbursed_on=None)
    assert loan["status"] == "pending" and loan["installments"] == []
    answer = desk.api.post(f"/loans/{loan['id']}/activate", json={"disbursed_on": "2025-03-31"})
    assert answer.status_code == 200, answer.get_json()
    active = answer.get_json()
    assert active["status"] == "active"
    assert active["installments"][0]["period_start"] == "2025-03-31"
    again = desk.api.post(f"/loans/{loan['id']}/activate", json={"disbursed_on": "2025-04-01"})
    assert again.status_code == 409


def test_co_lending_shares_must_add_up_to_one(desk: Desk) -> None:
    partner = desk.api.post("/loans/funders", json={"code": "BANK1", "name": "某银行"})
    assert partner.status_code == 201, partner.get_json()
    bad = desk.api.post(
        "/loans",
        json={
            "customer_id": desk.customer_id,
            "product_id": str(PRODUCT_ID),
            "principal": "12000.00",
            "periods": 12,
            "funders": [{"code": "BANK1", "share": "0.7"}],
        },
    )
    assert bad.status_code == 422 and "funders" in bad.get_json()["errors"]
    desk.api.post("/loans/funders", json={"code": "OWN", "name": "自有资金", "kind": "own"})
    loan = desk.book(funders=[{"code": "BANK1", "share": "0.7"}, {"code": "OWN", "share": "0.3"}])
    assert [(f["code"], f["share"]) for f in loan["funders"]] == [("BANK1", "0.7"), ("OWN", "0.3")]
    with desk.session() as session:
        assert ledger_problems(session, loan["id"]) == []


def test_the_statement_lists_installments_and_payments_with_the_balance(desk: Desk) -> None:
    loan = desk.book()
    paid = desk.pay(loan["id"], "1000.00", dt.date(2025, 3, 20), body={"reference": "BANK-1"})
    assert paid.status_code == 201, paid.get_json()
    found = desk.api.get(f"/loans/{loan['id']}/statement").get_json()
    kinds = [(line["date"], line["kind"]) for line in found["lines"][:4]]
    assert kinds == [
        ("2025-02-15", "installment"),
        ("2025-03-15", "installment"),
        ("2025-03-20", "payment"),
        ("2025-04-15", "installment"),
    ]
    first = Decimal(found["lines"][0]["due"])
    assert Decimal(found["lines"][2]["balance"]) == first * 2 - Decimal("1000.00")
    assert found["closing"]["received"] == "1000.00"


def test_a_borrowers_outstanding_principal_counts_towards_their_exposure(desk: Desk) -> None:
    import uuid

    from loandesk import sdk

    active = desk.book(principal="12000.00")
    desk.book(principal="5000.00", disbursed_on=None)  # pending: all of it
    first = active["installments"][0]
    paid = Decimal(first["fees_due"]) + Decimal(first["interest_due"]) + Decimal("100.00")
    assert desk.pay(active["id"], f"{paid:.2f}", dt.date(2025, 2, 15)).status_code == 201
    with desk.session() as session:
        owed = sdk.customer_exposure(session, [uuid.UUID(desk.customer_id)])
    assert owed == Decimal("16900.00")


def test_a_loan_takes_the_tenants_own_fields_and_follows_data_scopes(desk: Desk) -> None:
    from tests.plugins.intake.conftest import define

    field = {"key": "contract_no", "kind": "text", "label_zh": "纸质合同号"}
    field |= {"label_en": "Paper contract", "required": True, "rules": {"max_length": 30}}
    define(_admin(desk), field, record_type="loan")
    body = {"owner_id": desk.firm.staff["officer1"].user_id}
    missing = desk.api.post(
        "/loans",
        json={"customer_id": desk.customer_id, "product_id": str(PRODUCT_ID),
              "principal": "5000.00", "periods": 6, **body},
    )  # fmt: skip
    assert missing.status_code == 422 and "contract_no" in missing.get_json()["errors"]
    loan = desk.book(contract_no="HT-2025-001", **body)
    assert loan["contract_no"] == "HT-2025-001"
    assert loan["owner_id"] == desk.firm.staff["officer1"].user_id
    own = desk.firm.staff["officer1"].api.get(f"/loans/{loan['id']}")
    assert own.status_code == 200 and own.get_json()["contract_no"] == "HT-2025-001"
    assert desk.firm.staff["officer3"].api.get(f"/loans/{loan['id']}").status_code == 404
    assert desk.firm.staff["officer3"].api.get("/loans").get_json()["total"] == 0


def _admin(desk: Desk) -> object:
    from tests.helpers import ApiClient

    return ApiClient(desk.app.test_client(), desk.firm.tenant.token)


def test_loans_booked_at_the_same_moment_get_different_numbers(desk: Desk) -> None:
    import threading

    from tests.helpers import ApiClient

    start, answers = threading.Barrier(6), []

    def book() -> None:
        api = ApiClient(desk.app.test_client(), desk.api.token)
        start.wait()
        body = {"customer_id": desk.customer_id, "product_id": str(PRODUCT_ID)}
        answers.append(api.post("/loans", json={**body, "principal": "5000.00", "periods": 6}))

    threads = [threading.Thread(target=book) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201] * 6, [a.get_json() for a in answers]
    assert len({a.get_json()["number"] for a in answers}) == 6


def test_a_single_payment_loan_keeps_its_maturity_date_when_paid_out_later(desk: Desk) -> None:
    from tests.plugins.repayment.conftest import BULLET_ID

    body = {"customer_id": desk.customer_id, "product_id": str(BULLET_ID), "principal": "12000.00"}
    early = desk.api.post("/loans", json={**body, "periods": 1, "maturity_date": "2026-01-01"})
    assert early.status_code == 422 and "maturity_date" in early.get_json()["errors"]
    loan = desk.book(BULLET_ID, periods=1, disbursed_on=None, maturity_date="2027-06-30")
    answer = desk.api.post(f"/loans/{loan['id']}/activate", json={"disbursed_on": "2026-11-02"})
    assert answer.status_code == 200, answer.get_json()
    (only,) = answer.get_json()["installments"]
    assert (only["period_start"], only["due_date"]) == ("2026-11-02", "2027-06-30")
    assert only["principal_due"] == "12000.00" and Decimal(only["interest_due"]) > 0
