"""Write-off (核销) through the loan book (``LoanBook.write_off``): the loan leaves the books
(status ``written_off``, its outstanding receivables moved to ``written_off`` in the ledger,
audited, ``loan.written_off``), close of business leaves it, and later payments post as
recoveries (``recovery_income``, ``LoanBook.recoveries``) that can be reversed; a payment from
before the write-off cannot."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from loandesk import sdk
from tests.plugins.customers.conftest import audit_events
from tests.plugins.repayment.conftest import Desk, ledger_problems

PAID_ON = dt.date(2025, 3, 20)
WRITTEN_OFF_ON = dt.date(2025, 9, 30)


def _cob(desk: Desk, day: dt.date) -> None:
    from loandesk_repayment import cob

    with desk.session() as session:
        cob.run_cob(session, day)


def _balances(desk: Desk, loan_id: str) -> dict[str, Decimal]:
    from loandesk_repayment import ledger, loans

    with desk.session() as session:
        return ledger.account_balances(session, loans.get_loan(session, loan_id))


def _written_off_loan(desk: Desk) -> tuple[str, str, Any]:
    loan = desk.book()
    first = desk.pay(loan["id"], "500.00", PAID_ON)
    assert first.status_code == 201, first.get_json()
    _cob(desk, dt.date(2025, 9, 1))
    before = _balances(desk, loan["id"])
    with desk.session() as session:
        done = sdk.loan_book().write_off(
            session, uuid.UUID(loan["id"]), WRITTEN_OFF_ON, reason="借款人失联，催收无果"
        )
    return loan["id"], first.get_json()["id"], (before, done)


def test_a_written_off_loan_moves_its_receivables_and_leaves_close_of_business(
    desk: Desk,
) -> None:
    loan_id, _, (before, done) = _written_off_loan(desk)
    receivables = {p: before.get(f"receivable_{p}", Decimal(0))
                   for p in ("principal", "interest", "fees", "penalty")}  # fmt: skip
    assert receivables["penalty"] == 0  # the test product charges none
    assert (done.principal, done.interest, done.fees, done.penalty) == (
        receivables["principal"], receivables["interest"], receivables["fees"], Decimal(0)
    )  # fmt: skip
    assert done.total == sum(receivables.values()) > Decimal("11000")
    after = _balances(desk, loan_id)
    assert all(after.get(f"receivable_{p}", 0) == 0 for p in receivables)
    assert after["written_off"] == done.total
    with desk.session() as session:
        assert ledger_problems(session, loan_id) == []
        summary = sdk.loan_book().get(session, uuid.UUID(loan_id))
        assert summary is not None and summary.status == "written_off"
        with pytest.raises(sdk.Conflict):
            sdk.loan_book().write_off(session, uuid.UUID(loan_id), WRITTEN_OFF_ON, reason="再次")
    (audit,) = audit_events(desk.app, desk.firm, "loan.write_off")
    assert audit.diff["status"] == ["active", "written_off"]
    assert audit.diff["total"] == str(done.total)

    from loandesk.events import OutboxEvent

    with desk.session() as session:
        names = [e.name for e in session.scalars(select(OutboxEvent))]
    assert names.count("loan.written_off") == 1
    _cob(desk, dt.date(2025, 12, 1))  # leaves the written-off loan as it was
    assert _balances(desk, loan_id) == after
    assert desk.api.get(f"/loans/{loan_id}").get_json()["status"] == "written_off"


def test_payments_after_a_write_off_are_recoveries(desk: Desk) -> None:
    loan_id, before_id, (_, done) = _written_off_loan(desk)
    # not yet due installments count too: a written-off loan is owed whole
    paid = desk.pay(loan_id, "300.00", dt.date(2025, 10, 8))
    assert paid.status_code == 201, paid.get_json()
    more = desk.pay(loan_id, "200.00", dt.date(2025, 10, 9))
    assert more.status_code == 201, more.get_json()
    with desk.session() as session:
        recovered = sdk.loan_book().recoveries(session, [uuid.UUID(loan_id), uuid.uuid4()])
        assert recovered == {uuid.UUID(loan_id): Decimal("500.00")}
        assert ledger_problems(session, loan_id) == []
    balances = _balances(desk, loan_id)
    assert balances["recovery_income"] == Decimal("-500.00")
    assert balances["written_off"] == done.total  # the write-off itself stands

    refused = desk.api.post(
        f"/loans/{loan_id}/payments/{before_id}/reverse", json={"reason": "录错"}
    )
    assert refused.status_code == 409  # later (recovery) payments stand on it
    reversed_ = desk.api.post(
        f"/loans/{loan_id}/payments/{more.get_json()['id']}/reverse", json={"reason": "录错"}
    )
    assert reversed_.status_code == 200, reversed_.get_json()
    with desk.session() as session:
        recovered = sdk.loan_book().recoveries(session, [uuid.UUID(loan_id)])
        assert recovered == {uuid.UUID(loan_id): Decimal("300.00")}
        assert ledger_problems(session, loan_id) == []
    assert desk.api.get(f"/loans/{loan_id}").get_json()["status"] == "written_off"


def test_a_payment_from_before_the_write_off_cannot_be_reversed(desk: Desk) -> None:
    loan_id, before_id, _ = _written_off_loan(desk)
    refused = desk.api.post(
        f"/loans/{loan_id}/payments/{before_id}/reverse", json={"reason": "录错"}
    )
    assert refused.status_code == 409
    assert "written off" in refused.get_json()["message"]


def test_only_an_active_loan_is_written_off(desk: Desk) -> None:
    loan = desk.book()
    settled = desk.book()
    with desk.session() as session:
        book = sdk.loan_book()
        with pytest.raises(sdk.ValidationFailed):
            book.write_off(session, uuid.UUID(loan["id"]), WRITTEN_OFF_ON, reason=" ")
    owed = desk.api.post(
        f"/loans/{settled['id']}/early-repayment/quote",
        json={"kind": "full", "repaid_on": "2025-02-01"},
    ).get_json()["total"]
    assert (
        desk.api.post(
            f"/loans/{settled['id']}/early-repayment",
            json={"kind": "full", "repaid_on": "2025-02-01", "amount": owed},
        ).status_code
        == 201
    )
    with desk.session() as session:
        with pytest.raises(sdk.Conflict):
            sdk.loan_book().write_off(
                session, uuid.UUID(settled["id"]), WRITTEN_OFF_ON, reason="已结清"
            )
