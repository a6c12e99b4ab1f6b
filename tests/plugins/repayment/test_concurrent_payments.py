"""Acceptance (issue 10): 50 payments posted at the same moment to one loan through the API,
some with a repeated Idempotency-Key: every key is posted once, and the installments, the
credit balance and the ledger come out exact.

50 threads, each with its own HTTP test client (its own request, session and connection),
start together behind a barrier. On PostgreSQL they really contend: each posting locks the
loan row (``SELECT ... FOR UPDATE``) and the idempotency key is unique in the database. On
SQLite the database's single write lock serialises them (the posting takes it before it
reads), so there the test shows idempotency and exactness under threads, not row locks.
Embedded mode (SQLite, no Redis) also queues each event delivery in the jobs table through a
second connection after the commit, so there at most ``SQLITE_IN_FLIGHT`` requests run at
once, as a web server's worker threads would, lest 50 threads hold the pool's 15 connections
and all wait for a 16th."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from loandesk.finance import Part
from tests.helpers import ApiClient
from tests.plugins.repayment.conftest import Desk, ledger_problems, snapshot

RECEIVED_ON = dt.date(2025, 9, 1)  # installments 1-8 are due, 9-12 are not
UNIQUE = 40
REPEATED = 10  # the first ten keys are sent a second time, same body


def _requests() -> list[tuple[str, str]]:
    amounts = [f"{Decimal('200.00') + Decimal('3.17') * i:.2f}" for i in range(UNIQUE)]
    sent = [(f"key-{i:02d}", amounts[i]) for i in range(UNIQUE)]
    return sent + sent[:REPEATED]


def _expected(
    installments: list[dict[str, Any]], total: Decimal
) -> tuple[dict[int, dict[str, Decimal]], Decimal]:
    """What a total of ``total`` pays, filling the due installments oldest first and each in
    the product's order: the same whatever the order the payments arrived in."""
    order = [Part.PENALTY, Part.FEES, Part.INTEREST, Part.PRINCIPAL]
    paid: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    left = total
    for row in installments:
        if dt.date.fromisoformat(row["due_date"]) > RECEIVED_ON:
            break
        for part in order:
            take = min(left, Decimal(row[f"{part}_due"]))
            paid[row["number"]][str(part)] = take
            left -= take
    return paid, left


SQLITE_IN_FLIGHT = 6


def _lock_waits(admin_url: str, done: threading.Event, seen: list[int]) -> None:
    """The most backends seen waiting on a lock at once while the postings run (a superuser
    sees every session in ``pg_stat_activity``)."""
    engine = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            while not done.is_set():
                waiting = connection.scalar(
                    text(
                        "select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                        "and datname = current_database()"
                    )
                )
                seen.append(int(waiting or 0))
                connection.rollback()
    finally:
        engine.dispose()


def test_fifty_concurrent_payments_post_each_key_once_and_balance_exactly(
    desk: Desk, request: pytest.FixtureRequest, database_urls: Any
) -> None:
    loan = desk.book()
    sent = _requests()
    start = threading.Barrier(len(sent))
    sqlite = request.config.getoption("--db") == "sqlite"
    in_flight = threading.BoundedSemaphore(SQLITE_IN_FLIGHT if sqlite else len(sent))
    answers: list[tuple[str, str, int, Any]] = [("", "", 0, None)] * len(sent)

    def post(index: int, key: str, amount: str) -> None:
        api = ApiClient(desk.app.test_client(), desk.api.token)
        start.wait()
        with in_flight:
            response = api.post(
                f"/loans/{loan['id']}/payments",
                json={"amount": amount, "received_on": RECEIVED_ON.isoformat(), "reference": key},
                headers={"Idempotency-Key": key},
            )
        answers[index] = (key, amount, response.status_code, response.get_json())

    threads = [
        threading.Thread(target=post, args=(i, key, amount)) for i, (key, amount) in enumerate(sent)
    ]
    done, waits = threading.Event(), [0]
    watcher = None if sqlite else threading.Thread(
        target=_lock_waits, args=(database_urls.admin_url, done, waits)
    )  # fmt: skip
    if watcher is not None:
        watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    if watcher is not None:
        watcher.join()
        assert max(waits) >= 2, "the postings never waited on one another's lock"

    by_key: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    for key, _amount, status, body in answers:
        assert status in (200, 201), body
        by_key[key].append((status, body))
    for key, found in by_key.items():
        statuses = sorted(status for status, _ in found)
        assert statuses == [200] * (len(found) - 1) + [201], key
        assert all(body == found[0][1] for _, body in found), key  # the same payment, same body

    from loandesk_repayment.models import Payment

    total = sum(Decimal(amount) for _key, amount in sent[:UNIQUE])
    with desk.session() as session:
        rows = session.scalars(select(Payment).where(Payment.loan_id == uuid.UUID(loan["id"])))
        posted = sorted((p.idempotency_key, p.amount, p.sequence) for p in rows)
        assert [p[0] for p in posted] == sorted(by_key)  # each key once
        assert sorted(p[2] for p in posted) == list(range(1, UNIQUE + 1))
        assert sum(p[1] for p in posted) == total
        assert ledger_problems(session, loan["id"]) == []
        installments = snapshot(session, loan["id"])
        cash = session.scalar(
            select(func.count()).select_from(Payment).where(Payment.status == "posted")
        )
        assert cash == UNIQUE

    paid, credit = _expected(loan["installments"], total)
    assert credit > 0  # more came than was due: the rest is the loan's credit
    for row in installments:
        number, parts = (
            row[0],
            dict(zip(("principal", "interest", "fees", "penalty"), row[7:11], strict=True)),
        )
        for part, amount in parts.items():
            assert amount == paid.get(number, {}).get(part, Decimal("0.00")), (number, part)
    shown = desk.api.get(f"/loans/{loan['id']}").get_json()
    assert Decimal(shown["credit_balance"]) == credit
    assert shown["status"] == "active"

    # the same key with another body is refused and posts nothing
    other = desk.pay(loan["id"], "1.00", RECEIVED_ON, headers={"Idempotency-Key": "key-00"})
    assert other.status_code == 409, other.get_json()
    assert desk.api.get(f"/loans/{loan['id']}/payments").get_json()[-1]["sequence"] == UNIQUE


def test_one_key_sent_to_two_loans_at_once_posts_once(
    desk: Desk, request: pytest.FixtureRequest, database_urls: Any
) -> None:
    """Two loans do not share a lock, so the database's unique key decides: the second
    posting waits on the first's uncommitted key (PostgreSQL: seen waiting), fails on it once
    the first commits, and answers the first's payment — a different request, so 409."""
    from loandesk_repayment import loans, payments

    from loandesk.errors import Conflict

    first_loan, second_loan = desk.book(), desk.book()
    posted, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def first() -> None:
        with desk.session() as session:
            loan = loans.get_loan(session, first_loan["id"])
            payments.post_payment(
                session, loan, "100.00", RECEIVED_ON, source="api", idempotency_key="same"
            )
            posted.set()
            release.wait(timeout=60)

    def second() -> None:
        posted.wait(timeout=60)
        try:
            with desk.session() as session:
                loan = loans.get_loan(session, second_loan["id"])
                payments.post_payment(
                    session, loan, "100.00", RECEIVED_ON, source="api", idempotency_key="same"
                )
            outcome["second"] = "posted"
        except Conflict as problem:
            outcome["second"] = problem.message

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    if request.config.getoption("--db") == "postgresql":
        waits = [0]
        done = threading.Event()
        watcher = threading.Thread(target=_lock_waits, args=(database_urls.admin_url, done, waits))
        watcher.start()
        while max(waits) < 1 and threads[1].is_alive():
            done.wait(0.01)
        done.set()
        watcher.join()
        assert max(waits) >= 1  # the second insert waited on the first's key
    else:
        posted.wait(timeout=60)
    release.set()
    for thread in threads:
        thread.join()
    assert outcome["second"] == "This Idempotency-Key was used for another request."
    counts = [
        len(desk.api.get(f"/loans/{loan['id']}/payments").get_json())
        for loan in (first_loan, second_loan)
    ]
    assert counts == [1, 0]
