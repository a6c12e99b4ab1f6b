"""The ledger (分户账) sums to the loan's balances after every change: a seeded random sequence
of payments (amounts, dates) and reversals — some allowed, some refused — on co-lent loans
(联合贷 70/30 and three equal-ish shares), with the ledger checked after each step; and every
payment's lines split by funder share sum exactly to what was allocated.

A seeded loop (long sequences, its seed in the failure message) and hypothesis (short
sequences it chooses and shrinks) both drive it."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from loandesk.errors import Conflict, ValidationFailed
from tests.plugins.repayment.conftest import FEES_ID, PRODUCT_ID, Desk, ledger_problems

STEPS = 120


def _funders(desk: Desk, *codes: str) -> None:
    for code in codes:
        answer = desk.api.post("/loans/funders", json={"code": code, "name": f"资金方{code}"})
        assert answer.status_code == 201, answer.get_json()


def _split_problems(session: Any, loan_id: uuid.UUID, shares: dict[str, Decimal]) -> list[str]:
    """Each payment's or reversal's receivable lines of one part, across funders: every
    funder's part within a cent per funder of its share (each is rounded down and the cents
    left go to the largest share), and (by the ledger check) all of them summing
    to the whole. (Cash is the sum of a payment's parts, each split on its own, so a
    funder's cash may differ from its share by a cent per part.)"""
    from loandesk_repayment.models import Funder, LedgerEntry

    codes = {f.id: f.code for f in session.scalars(select(Funder))}
    groups: dict[tuple[Any, str, str], dict[str, Decimal]] = defaultdict(dict)
    for line in session.scalars(select(LedgerEntry).where(LedgerEntry.loan_id == loan_id)):
        if line.funder_id is None or not line.account.startswith("receivable_"):
            continue
        if line.event == "activation":
            continue
        key = (line.payment_id, line.event, line.account)
        code = codes[line.funder_id]
        groups[key][code] = groups[key].get(code, Decimal(0)) + line.debit - line.credit
    problems = []
    for key, parts in groups.items():
        total = sum(parts.values(), Decimal(0))
        for code, part in parts.items():
            if abs(part - total * shares[code]) >= Decimal("0.01") * len(shares):
                problems.append(f"{key}: {code} has {part} of {total}")
    return problems


@pytest.mark.parametrize(
    ("seed", "product_id", "shares"),
    [
        (7, PRODUCT_ID, {"BANK1": Decimal("0.7"), "OWN2": Decimal("0.3")}),
        (
            11,
            FEES_ID,
            {"A": Decimal("0.333334"), "B": Decimal("0.333333"), "C": Decimal("0.333333")},
        ),
    ],
)
def test_the_ledger_matches_the_balances_after_every_post_and_reversal(
    desk: Desk, seed: int, product_id: uuid.UUID, shares: dict[str, Decimal]
) -> None:
    from loandesk_repayment import loans, payments
    from loandesk_repayment.models import Payment

    _funders(desk, *shares)
    loan = desk.book(product_id, funders=[{"code": c, "share": str(s)} for c, s in shares.items()])
    loan_id = uuid.UUID(loan["id"])
    rng = random.Random(seed)
    done = defaultdict(int)
    for step in range(STEPS):
        with desk.session() as session:
            current = loans.get_loan(session, loan_id)
            standing = list(
                session.scalars(
                    select(Payment)
                    .where(Payment.loan_id == loan_id, Payment.status == "posted")
                    .order_by(Payment.sequence)
                )
            )
            try:
                if standing and rng.random() < 0.35:
                    chosen = standing[-1] if rng.random() < 0.8 else rng.choice(standing)
                    payments.reverse_payment(session, chosen, f"step {step}")
                    done["reversed"] += 1
                else:
                    cents = rng.choice([rng.randint(1, 500), rng.randint(500, 200_000)])
                    day = dt.date(2025, 1, 15) + dt.timedelta(days=rng.randint(0, 420))
                    payments.post_payment(
                        session, current, Decimal(cents).scaleb(-2), day, source="staff"
                    )
                    done["posted"] += 1
            except Conflict:  # a payment under a later one, or the loan settled
                session.rollback()
                done["refused"] += 1
            except ValidationFailed:
                session.rollback()
                done["invalid"] += 1
        with desk.session() as session:
            problems = ledger_problems(session, loan_id)
            assert problems == [], f"seed {seed}, step {step}: {problems}"
    with desk.session() as session:
        assert _split_problems(session, loan_id, shares) == []
    # the sequence did exercise each path
    assert done["posted"] > 30 and done["reversed"] > 10 and done["refused"] > 0, done


def test_a_split_sums_exactly_and_gives_the_left_cents_to_the_largest_share() -> None:
    from loandesk_repayment.ledger import Share, split

    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    seventy_thirty = [Share(a, 300_000), Share(b, 700_000)]
    assert split(Decimal("0.01"), seventy_thirty) == [(a, Decimal("0.00")), (b, Decimal("0.01"))]
    assert split(Decimal("100.01"), seventy_thirty) == [
        (a, Decimal("30.00")),
        (b, Decimal("70.01")),
    ]
    thirds = [Share(a, 333_333), Share(b, 333_334), Share(c, 333_333)]
    assert split(Decimal("1.00"), thirds) == [
        (a, Decimal("0.33")),
        (b, Decimal("0.34")),
        (c, Decimal("0.33")),
    ]
    assert split(Decimal("-1.00"), thirds) == [
        (a, Decimal("-0.33")),
        (b, Decimal("-0.34")),
        (c, Decimal("-0.33")),
    ]
    rng = random.Random(3)
    for _ in range(2000):
        amount = Decimal(rng.randint(1, 10**9)).scaleb(-2)
        parts = split(amount, thirds)
        assert sum(p for _, p in parts) == amount
        assert all(p == p.quantize(Decimal("0.01")) for _, p in parts)


# --- the same invariant, with hypothesis choosing the sequences ------------------------------

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("post"),
            st.integers(min_value=1, max_value=300_000),  # cents
            st.integers(min_value=0, max_value=420),  # days after the payout
        ),
        st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=5), st.just(0)),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS)
def test_hypothesis_sequences_keep_the_ledger_equal_to_the_balances(
    desk: Desk, operations: list[tuple[str, int, int]]
) -> None:
    """Each example books a fresh co-lent loan (70/30) and applies the operations: a post of
    some cents on some day, or a reversal of the n-th latest standing payment (refused unless
    it is the latest). After every operation the ledger matches the balances, and a refused
    reversal changed nothing."""
    from loandesk_repayment import loans, payments
    from loandesk_repayment.models import Payment

    if not desk.api.get("/loans/funders").get_json():
        _funders(desk, "P70", "P30")
    loan = desk.book(funders=[{"code": "P70", "share": "0.7"}, {"code": "P30", "share": "0.3"}])
    loan_id = uuid.UUID(loan["id"])
    for kind, number, days in operations:
        with desk.session() as session:
            current = loans.get_loan(session, loan_id)
            standing = list(
                session.scalars(
                    select(Payment)
                    .where(Payment.loan_id == loan_id, Payment.status == "posted")
                    .order_by(Payment.sequence.desc())
                )
            )
            try:
                if kind == "post":
                    day = dt.date(2025, 1, 15) + dt.timedelta(days=days)
                    payments.post_payment(
                        session, current, Decimal(number).scaleb(-2), day, source="api"
                    )
                elif number < len(standing):
                    payments.reverse_payment(session, standing[number], "hypothesis")
                    assert number == 0  # only the latest may be reversed
            except Conflict:
                session.rollback()
        with desk.session() as session:
            assert ledger_problems(session, loan_id) == []
