"""Close of business while payments are posted (PostgreSQL, threads): a loan is locked for its
chunk exactly as a payment locks it, so one of the two goes first and the other reads its
result — never lost, never charged twice, nothing refused.

Both orders are made to happen, not hoped for: a payment that holds loan Y's lock when the
run reaches Y makes the run wait (the payment is processed first), and a payment sent to
loan X while the run holds X's chunk (the test's ``commit`` sends it and waits until
PostgreSQL shows it waiting on the lock) goes after the chunk (close of business first).
Each loan must then equal the loan-by-loan reference computed from the state its order
implies, and every ledger must sum to its balances."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from tests.helpers import ApiClient
from tests.plugins.repayment.cob_reference import Reference, cents
from tests.plugins.repayment.conftest import Desk, ledger_problems
from tests.plugins.repayment.test_cob import _seed

DAY = dt.date(2025, 6, 10)


def _lock_waiters(admin_url: str) -> int:
    engine = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return int(
                connection.scalar(
                    text(
                        "select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                        "and datname = current_database()"
                    )
                )
                or 0
            )
    finally:
        engine.dispose()


def _loan_state(session: Any, loan_id: uuid.UUID) -> tuple[Any, ...]:
    from loandesk_repayment.models import Installment, Loan

    loan = session.scalars(
        select(Loan).where(Loan.id == loan_id).execution_options(populate_existing=True)
    ).one()
    rows = session.scalars(
        select(Installment)
        .where(Installment.loan_id == loan_id, Installment.superseded.is_(False))
        .order_by(Installment.number)
        .execution_options(populate_existing=True)
    )
    return (
        loan.days_past_due,
        loan.bucket,
        cents(loan.overdue_principal),
        cents(loan.overdue_amount),
        tuple((r.id, cents(r.penalty_due)) for r in rows),
    )


def _wanted(reference: Reference, state: tuple[Any, ...]) -> tuple[Any, ...]:
    """The reference's penalty of each installment of ``state``, in its order."""
    ids = [i for i, _ in state[4]]
    return tuple(reference.penalty.get(i, 0) for i in ids)


def test_payments_during_close_of_business_go_before_or_after_a_loan_never_both(
    desk: Desk, request: pytest.FixtureRequest, database_urls: Any
) -> None:
    if request.config.getoption("--db") == "sqlite":
        pytest.skip("row locks: PostgreSQL only (SQLite has one write lock)")
    from loandesk_repayment import cob, loans, payments

    ids = sorted(uuid.UUID(i) for i in _seed(desk, 12))
    first, last = ids[0], ids[-1]  # X: in the first chunk; Y: in the last
    before = Reference()
    with desk.session() as session:
        before.run(session, DAY)  # what close of business finds if it goes first

    held, answers = threading.Event(), {}

    def hold_then_pay() -> None:
        """Payment to Y: takes Y's lock before the run starts, posts 1.5 s later."""
        with desk.session() as session:
            loan = loans.lock(session, last)
            held.set()
            time.sleep(1.5)
            posted = payments.post_payment(session, loan, Decimal("300.00"), DAY, source="staff")
            answers["Y"] = posted.payment.amount

    def pay_x() -> None:
        api = ApiClient(desk.app.test_client(), desk.api.token)
        answers["X"] = api.post(
            f"/loans/{first}/payments", json={"amount": "300.00", "received_on": DAY.isoformat()}
        ).status_code

    calls, waited = [0], [0]
    payer_x = threading.Thread(target=pay_x)

    def commit_after_x_waits() -> None:
        calls[0] += 1
        if calls[0] == 3:  # start, attempt, then the first chunk (X's) is about to commit
            payer_x.start()
            for _ in range(100):
                waited[0] = _lock_waiters(database_urls.admin_url)
                if waited[0]:
                    break
                time.sleep(0.05)
        cob_session.commit()

    payer_y = threading.Thread(target=hold_then_pay)
    payer_y.start()
    assert held.wait(10)
    with desk.session() as cob_session:
        started = time.monotonic()
        run = cob.run_cob(cob_session, DAY, commit=commit_after_x_waits, chunk_size=3)
        took = time.monotonic() - started
    payer_x.join()
    payer_y.join()
    assert waited[0] >= 1, "the payment to X never waited for the chunk's lock"
    assert took >= 1.0, "the run did not wait for the payment holding Y"
    assert (run.state, answers["X"], answers["Y"]) == ("done", 201, Decimal("300.00"))

    after = Reference()
    with desk.session() as session:
        after.run(session, DAY)  # what close of business finds if the payments go first
        x, y = _loan_state(session, first), _loan_state(session, last)
        # X: close of business first (the payment paid the day's penalty too), then the
        # payment restated its arrears as of the day
        before.paid(session, first)
        assert x[:4] == (
            before.loans[first].dpd, before.loans[first].bucket,
            before.loans[first].overdue_principal, before.loans[first].overdue_amount,
        )  # fmt: skip
        assert tuple(p for _, p in x[4]) == _wanted(before, x)
        # Y: the payment first, close of business on what it left
        assert y[:4] == (
            after.loans[last].dpd, after.loans[last].bucket,
            after.loans[last].overdue_principal, after.loans[last].overdue_amount,
        )  # fmt: skip
        assert tuple(p for _, p in y[4]) == _wanted(after, y)
        assert before.penalty != after.penalty  # the two orders differ: the test can tell
        for loan_id in ids:
            assert ledger_problems(session, loan_id) == [], loan_id
        from loandesk_repayment.models import LedgerEntry, Payment

        for loan_id in (first, last):
            paid = session.scalars(select(Payment).where(Payment.loan_id == loan_id)).all()
            assert len(paid) == 1
            lines = session.scalars(
                select(LedgerEntry).where(
                    LedgerEntry.loan_id == loan_id, LedgerEntry.event == "penalty"
                )
            ).all()
            assert len({line.booked_on for line in lines}) <= 1  # charged once for the day
