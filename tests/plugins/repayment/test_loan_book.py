"""The loan book other plugins use (``sdk.loan_book()``): the repayment plugin answers it, so
contracts read a pending loan, disbursement activates it and the borrower's page lists what is
due and paid, without importing this plugin."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from loandesk import sdk
from tests.plugins.repayment.conftest import PRODUCT_ID, Desk


def test_a_loan_booked_through_the_book_is_activated_from_its_payout_date(desk: Desk) -> None:
    officer = uuid.UUID(desk.firm.staff["officer1"].user_id)
    with desk.session() as session:
        book = sdk.loan_book()
        loan = book.book(
            session,
            customer_id=desk.customer_id,
            product_id=PRODUCT_ID,
            principal="12000.00",
            periods=12,
            owner_id=officer,
            booked_by=officer,
        )
        assert loan.status == "pending" and loan.principal == Decimal("12000.00")
        assert book.installments(session, loan.id) == []
        loan_id = loan.id

    with desk.session() as session:
        book = sdk.loan_book()
        pending = book.get(session, loan_id)
        assert pending is not None and pending.number == loan.number
        assert pending.product_terms.code == "XF01" and pending.terms.periods == 12
        active = book.activate(session, loan_id, dt.date(2025, 3, 31))
        assert active.status == "active" and active.disbursed_on == dt.date(2025, 3, 31)
        assert active.terms.start_date == dt.date(2025, 3, 31)
        lines = book.installments(session, loan_id)
        assert [line.number for line in lines] == list(range(1, 13))
        assert lines[0].due_date == dt.date(2025, 4, 30)  # a month after the actual payout
        assert sum((line.principal_due for line in lines), Decimal(0)) == Decimal("12000.00")
        assert all(line.paid == 0 and line.outstanding > 0 for line in lines)
        with pytest.raises(sdk.Conflict):
            book.activate(session, loan_id, dt.date(2025, 4, 1))

    paid = desk.pay(str(loan_id), "1000.00", dt.date(2025, 5, 6))
    assert paid.status_code == 201, paid.get_json()
    with desk.session() as session:
        book = sdk.loan_book()
        (payment,) = book.payments(session, loan_id)
        assert payment.amount == Decimal("1000.00") and payment.status == "posted"
        first = book.installments(session, loan_id)[0]
        assert first.paid + first.outstanding == (
            first.principal_due + first.interest_due + first.fees_due
        )
        assert book.get(session, uuid.uuid4()) is None


def test_a_tenant_without_repayment_has_no_loan_book(desk: Desk, api_a) -> None:
    answer = api_a.put("/plugins/repayment", json={"enabled": False})
    assert answer.status_code == 200, answer.get_json()
    with desk.session(), pytest.raises(sdk.NotFound):
        sdk.loan_book()


def test_a_due_date_on_a_public_holiday_rolls_to_the_next_working_day(desk: Desk) -> None:
    from loandesk.finance import DateRoll
    from tests.plugins.repayment.conftest import Products, product

    rolling = uuid.UUID("0190a000-0000-7000-8000-0000000000aa")
    plugin = next(
        p
        for p in desk.app.extensions["loandesk.plugins"].pm.get_plugins()
        if isinstance(p, Products)
    )
    plugin.catalogue[rolling] = product(rolling, code="XF09", date_roll=DateRoll.FOLLOWING)
    loan = desk.book(rolling, disbursed_on="2025-09-01")
    with desk.session() as session:
        dues = [line.due_date for line in sdk.loan_book().installments(session, loan["id"])]
    # 2025-10-01 to 10-08 is the National Day holiday (国庆节): the first due date moves to
    # the 9th; November's 1st is a Saturday, moved to Monday the 3rd
    assert dues[:3] == [dt.date(2025, 10, 9), dt.date(2025, 11, 3), dt.date(2025, 12, 1)]


def test_histories_read_many_loans_with_their_schedules_and_payments(desk: Desk) -> None:
    first, second, third = (desk.book() for _ in range(3))
    assert desk.pay(first["id"], "1000.00", dt.date(2025, 2, 20)).status_code == 201
    assert desk.pay(first["id"], "500.00", dt.date(2025, 3, 20)).status_code == 201
    assert desk.pay(third["id"], "700.00", dt.date(2025, 2, 21)).status_code == 201
    ids = sorted(uuid.UUID(loan["id"]) for loan in (first, second, third))
    with desk.session() as session:
        book = sdk.loan_book()
        page = book.histories(session, limit=2)
        rest = book.histories(session, after=page[-1].loan.id, limit=2)
        assert [h.loan.id for h in page + rest] == ids
        by_id = {h.loan.id: h for h in page + rest}
        for loan_id in ids:
            assert list(by_id[loan_id].installments) == book.installments(session, loan_id)
            assert list(by_id[loan_id].payments) == book.payments(session, loan_id)
            assert by_id[loan_id].loan == book.get(session, loan_id)
        one = uuid.UUID(first["id"])
        [only] = book.histories(session, loan_ids=[one])
        assert [p.amount for p in only.payments] == [Decimal("1000.00"), Decimal("500.00")]
        customer = uuid.UUID(desk.customer_id)
        assert len(book.histories(session, customer_ids=[customer])) == 3
        assert book.histories(session, customer_ids=[uuid.uuid4()]) == []
        assert book.histories(session, statuses=("settled",)) == []
