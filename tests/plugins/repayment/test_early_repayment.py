"""Early repayment (提前还款, issue 10 item 5): the quote and the posting, full and partial with
each recalculation, checked against figures computed here independently (the arithmetic is
written out), the ledger after every step, reversal putting the schedule back exactly, the
refusals and idempotent retries.

The loan of every test: 12000.00 over 12 months at 12% a year (30/360), equal installments
(等额本息), a 10.00 fee with every installment, paid out 2025-01-15. Its installment is the
annuity 12000 × 0.01 × 1.01^12 / (1.01^12 − 1) = 1066.1854 → 1066.19; interest each month is
1% of the balance in cents. Installments 1-5 are paid on 2025-06-15 (5 × 1076.19 = 5380.95),
which leaves the balance after installment 5: 7173.48 (computed below)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from loandesk.finance import EarlyRepayment, Method, Recalculation
from tests.plugins.customers.conftest import audit_events
from tests.plugins.repayment.conftest import (
    CHEAP_ID,
    INSTALLMENT_FIELDS,
    PRODUCT_ID,
    Desk,
    Products,
    ledger_problems,
    product,
)

CENT = Decimal("0.01")
EARLY_FEE_ID = uuid.UUID("0190a000-0000-7000-8000-0000000000e1")
SHORTEN_ONLY_ID = uuid.UUID("0190a000-0000-7000-8000-0000000000e2")
NOT_ALLOWED_ID = uuid.UUID("0190a000-0000-7000-8000-0000000000e3")
PAID_ON = dt.date(2025, 6, 15)  # installments 1-5 paid
ON = dt.date(2025, 6, 25)  # 10 days (30E/360) into installment 6's period (06-15 → 07-15)


def cents(x: Decimal) -> Decimal:
    return x.quantize(CENT, ROUND_HALF_UP)


def annuity(principal: Decimal, rate: Decimal, n: int) -> Decimal:
    """The textbook annuity: P·r·(1+r)^n / ((1+r)^n − 1)."""
    growth = (1 + rate) ** n
    return principal * rate * growth / (growth - 1)


def balance_after(k: int) -> Decimal:
    """The balance after installment ``k`` of the loan, month by month: interest 1% of the
    balance in cents, principal = 1066.19 − interest."""
    balance = Decimal("12000.00")
    for _ in range(k):
        balance -= Decimal("1066.19") - cents(balance * Decimal("0.01"))
    return balance


@pytest.fixture
def early_desk(desk: Desk) -> Iterator[Desk]:
    """The desk, with products whose early repayment terms differ."""
    host = desk.app.extensions["loandesk.plugins"]
    products = next(p for p in host.pm.get_plugins() if isinstance(p, Products))
    products.catalogue[EARLY_FEE_ID] = product(
        EARLY_FEE_ID, code="TQ01", early_repayment=EarlyRepayment(fee_percent=Decimal("0.02"))
    )
    products.catalogue[SHORTEN_ONLY_ID] = product(
        SHORTEN_ONLY_ID,
        code="TQ02",
        early_repayment=EarlyRepayment(
            min_periods_paid=3, recalculations=(Recalculation.SHORTEN_TERM,)
        ),
    )
    products.catalogue[NOT_ALLOWED_ID] = product(
        NOT_ALLOWED_ID, code="TQ03", early_repayment=EarlyRepayment(allowed=False)
    )
    yield desk


def _paid_five(desk: Desk, product_id: uuid.UUID = PRODUCT_ID) -> str:
    loan = desk.book(product_id)
    paid = desk.pay(loan["id"], "5380.95", PAID_ON)
    assert paid.status_code == 201 and paid.get_json()["to_credit"] == "0.00", paid.get_json()
    return str(loan["id"])


def _in_force(session: Any, loan_id: str) -> list[tuple[Any, ...]]:
    from loandesk_repayment.models import Installment
    from sqlalchemy import select

    rows = session.scalars(
        select(Installment)
        .where(Installment.loan_id == uuid.UUID(loan_id), Installment.superseded.is_(False))
        .order_by(Installment.number)
        .execution_options(populate_existing=True)
    )
    return [tuple(getattr(r, f) for f in INSTALLMENT_FIELDS) for r in rows]


def _every_row(session: Any, loan_id: str) -> dict[Any, tuple[Any, ...]]:
    """Every installment row, superseded or not, by id, with its superseded flag."""
    from loandesk_repayment.models import Installment
    from sqlalchemy import select

    rows = session.scalars(
        select(Installment)
        .where(Installment.loan_id == uuid.UUID(loan_id))
        .execution_options(populate_existing=True)
    )
    return {r.id: (*(getattr(r, f) for f in INSTALLMENT_FIELDS), r.superseded) for r in rows}


def _early(desk: Desk, loan_id: str, key: str | None = None, **body: Any) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    body.setdefault("repaid_on", ON.isoformat())
    return desk.api.post(f"/loans/{loan_id}/early-repayment", json=body, headers=headers)


def _quote(desk: Desk, loan_id: str, **body: Any) -> Any:
    body.setdefault("repaid_on", ON.isoformat())
    return desk.api.post(f"/loans/{loan_id}/early-repayment/quote", json=body)


def test_the_balance_the_tests_start_from() -> None:
    # 1: 120.00 interest, 946.19 principal → 11053.81; 2: 110.54, 955.65 → 10098.16;
    # 3: 100.98, 965.21 → 9132.95; 4: 91.33, 974.86 → 8158.09; 5: 81.58, 984.61 → 7173.48
    assert cents(annuity(Decimal(12000), Decimal("0.01"), 12)) == Decimal("1066.19")
    assert balance_after(5) == Decimal("7173.48")


def test_full_settlement_mid_period_costs_the_hand_computed_amount(early_desk: Desk) -> None:
    loan_id = _paid_five(early_desk, EARLY_FEE_ID)
    # principal left 7173.48; interest accrued 06-15 → 06-25, 10 days of 30/360:
    # 7173.48 × 0.12 × 10/360 = 23.9116 → 23.91 (the whole period would be 71.73);
    # fee 2% of 7173.48 = 143.4696 → 143.47; total 7173.48 + 23.91 + 143.47 = 7340.86;
    # the 10.00 fees of installments 6-12 are not charged
    principal = Decimal("7173.48")
    interest = cents(principal * Decimal("0.12") * 10 / 360)
    fee = cents(principal * Decimal("0.02"))
    assert (interest, fee) == (Decimal("23.91"), Decimal("143.47"))
    quoted = _quote(early_desk, loan_id, kind="full")
    assert quoted.status_code == 200, quoted.get_json()
    body = quoted.get_json()
    assert (body["principal"], body["interest"], body["fee"], body["credit"]) == (
        "7173.48", "23.91", "143.47", "0.00",
    )  # fmt: skip
    assert body["total"] == "7340.86" == f"{principal + interest + fee:.2f}"
    assert (body["due_total"], body["days"], body["current_number"]) == ("0.00", 10, 6)

    short = _early(early_desk, loan_id, kind="full", amount="7340.85")
    assert short.status_code == 422, short.get_json()
    assert short.get_json()["errors"]["amount"] == [
        "Repaying the loan in full on this day takes 7340.86."
    ]
    posted = _early(early_desk, loan_id, "full-1", kind="full", amount="7340.86")
    assert posted.status_code == 201, posted.get_json()
    record = posted.get_json()
    assert (record["principal"], record["interest"], record["fee"]) == (
        "7173.48",
        "23.91",
        "143.47",
    )
    # waived: the interest installments 6-12 would have charged (1% of each month's opening
    # balance) less the 23.91 charged, and their seven 10.00 fees
    scheduled = sum((cents(balance_after(k) * Decimal("0.01")) for k in range(5, 12)), CENT * 0)
    assert Decimal(record["interest_waived"]) == scheduled - interest
    assert Decimal(record["fees_waived"]) == Decimal("70.00")
    loan = early_desk.api.get(f"/loans/{loan_id}").get_json()
    assert (loan["status"], loan["settled_on"]) == ("settled", ON.isoformat())
    assert loan["outstanding"]["total"] == "0.00"
    line = loan["installments"][-1]
    assert (line["number"], line["due_date"], line["status"]) == (6, ON.isoformat(), "paid")
    assert (line["principal_due"], line["interest_due"], line["fees_due"]) == (
        "7173.48", "23.91", "143.47",
    )  # fmt: skip
    with early_desk.session() as session:
        assert ledger_problems(session, loan_id) == []
    events = audit_events(early_desk.app, early_desk.firm, "loan.early_repay")
    assert [e.diff["kind"] for e in events] == ["full"]


def largest_principal(left: Decimal, days: int, fee_rate: Decimal) -> Decimal:
    """By search, cent by cent from ``left`` down: the largest principal whose interest for
    ``days`` (30/360, 12%) and fee fit with it in ``left``."""
    principal = left
    while (
        principal + cents(principal * Decimal("0.12") * days / 360) + cents(principal * fee_rate)
        > left
    ):
        principal -= CENT
    return principal


def test_partial_with_a_lower_installment_reschedules_the_rest(early_desk: Desk) -> None:
    loan_id = _paid_five(early_desk, EARLY_FEE_ID)
    # 3000.00 = P + P × 0.12 × 10/360 + 2% × P, in cents: P = 2931.60 (interest 9.77, fee
    # 58.63, sum 3000.00; 2931.61 would make 3000.01)
    assert largest_principal(Decimal("3000.00"), 10, Decimal("0.02")) == Decimal("2931.60")
    remaining = Decimal("7173.48") - Decimal("2931.60")  # 4241.88, over the 7 periods left
    installment = cents(annuity(remaining, Decimal("0.01"), 7))
    quoted = _quote(early_desk, loan_id, kind="partial", amount="3000.00").get_json()
    assert (quoted["principal"], quoted["interest"], quoted["fee"], quoted["left_over"]) == (
        "2931.60", "9.77", "58.63", "0.00",
    )  # fmt: skip
    option = next(o for o in quoted["options"] if o["recalculation"] == "lower_installment")
    assert option["periods_after"] == 7 and option["installment_after"] == f"{installment:.2f}"

    posted = _early(
        early_desk, loan_id, kind="partial", amount="3000.00", recalculation="lower_installment"
    )
    assert posted.status_code == 201, posted.get_json()
    loan = early_desk.api.get(f"/loans/{loan_id}").get_json()
    assert loan["status"] == "active"
    rows = loan["installments"][6:]  # 1-5, the early repayment's own line #6, then the new
    own = loan["installments"][5]
    assert (own["number"], own["due_date"], own["principal_due"], own["status"]) == (
        6, ON.isoformat(), "2931.60", "paid",
    )  # fmt: skip
    assert [r["number"] for r in rows] == list(range(7, 14))
    assert rows[0]["due_date"] == "2025-07-15" and rows[-1]["due_date"] == "2026-01-15"
    assert rows[0]["interest_due"] == f"{cents(remaining * Decimal('0.01')):.2f}" == "42.42"
    for row in rows[:-1]:
        assert Decimal(row["principal_due"]) + Decimal(row["interest_due"]) == installment
        assert row["fees_due"] == "10.00"
    assert sum(Decimal(r["principal_due"]) for r in rows) == remaining  # last balance 0.00
    with early_desk.session() as session:
        assert ledger_problems(session, loan_id) == []


def test_partial_with_a_shorter_term_keeps_the_installment(early_desk: Desk) -> None:
    loan_id = _paid_five(early_desk, SHORTEN_ONLY_ID)
    principal = largest_principal(Decimal("3000.00"), 10, Decimal(0))
    assert principal == Decimal("2990.03")  # + 9.97 interest = 3000.00
    remaining = Decimal("7173.48") - principal  # 4183.45
    rate = Decimal("0.01")
    old = cents(annuity(Decimal("7173.48"), rate, 7))
    # the textbook number of periods of an annuity A on R: n = ln(A / (A − R·r)) / ln(1 + r),
    # rounded up so that the installment does not exceed A
    exact_n = (old / (old - remaining * rate)).ln() / (1 + rate).ln()
    periods = int(exact_n.to_integral_value(ROUND_CEILING))
    assert periods == 5 and exact_n > 4
    posted = _early(
        early_desk, loan_id, kind="partial", amount="3000.00", recalculation="shorten_term"
    )
    assert posted.status_code == 201, posted.get_json()
    assert posted.get_json()["periods_after"] == periods
    rows = early_desk.api.get(f"/loans/{loan_id}").get_json()["installments"][6:]
    installment = cents(annuity(remaining, rate, periods))
    assert installment <= old
    assert len(rows) == 5 and rows[-1]["due_date"] == "2025-11-15"
    for row in rows[:-1]:
        assert Decimal(row["principal_due"]) + Decimal(row["interest_due"]) == installment
    assert sum(Decimal(r["principal_due"]) for r in rows) == remaining
    with early_desk.session() as session:
        assert ledger_problems(session, loan_id) == []


def test_reversal_puts_back_every_installment_exactly(early_desk: Desk) -> None:
    loan_id = _paid_five(early_desk, EARLY_FEE_ID)
    with early_desk.session() as session:
        rows_before, in_force_before = (
            _every_row(session, loan_id),
            _in_force(session, loan_id),
        )
    posted = _early(
        early_desk, loan_id, kind="partial", amount="3000.00", recalculation="lower_installment"
    ).get_json()
    with early_desk.session() as session:
        during = _every_row(session, loan_id)
        # the replaced rows are kept, untouched but for being out of the schedule
        for row_id, row in rows_before.items():
            assert during[row_id][:-1] == row[:-1]
        assert sum(1 for r in during.values() if r[-1]) == 7
    reversed_ = early_desk.api.post(
        f"/loans/{loan_id}/payments/{posted['payment']['id']}/reverse", json={"reason": "退票"}
    )
    assert reversed_.status_code == 200, reversed_.get_json()
    with early_desk.session() as session:
        after = _every_row(session, loan_id)
        assert {k: after[k] for k in rows_before} == rows_before
        assert _in_force(session, loan_id) == in_force_before
        # the rows the early repayment wrote are kept too, superseded
        written = [r for k, r in after.items() if k not in rows_before]
        assert len(written) == 8 and all(r[-1] for r in written)
        assert ledger_problems(session, loan_id) == []
    loan = early_desk.api.get(f"/loans/{loan_id}").get_json()
    assert loan["credit_balance"] == "0.00" and loan["status"] == "active"
    # the schedule is the one before: a full repayment can be quoted and made again
    again = _early(early_desk, loan_id, kind="full", amount="7340.86")
    assert again.status_code == 201, again.get_json()


def test_reversing_a_full_repayment_reopens_the_loan(early_desk: Desk) -> None:
    loan_id = _paid_five(early_desk)
    with early_desk.session() as session:
        before = _every_row(session, loan_id)
    # 7173.48 + 23.91 (no fee on this product)
    posted = _early(early_desk, loan_id, kind="full", amount="7200.00").get_json()
    assert posted["payment"]["to_credit"] == "2.61"
    path = f"/loans/{loan_id}/payments/{posted['payment']['id']}/reverse"
    assert early_desk.api.post(path, json={"reason": "错误"}).status_code == 200
    loan = early_desk.api.get(f"/loans/{loan_id}").get_json()
    assert (loan["status"], loan["settled_on"], loan["credit_balance"]) == ("active", None, "0.00")
    with early_desk.session() as session:
        after = _every_row(session, loan_id)
        assert {k: after[k] for k in before} == before
        assert ledger_problems(session, loan_id) == []


def test_the_credit_balance_counts_towards_the_repayment(early_desk: Desk) -> None:
    loan = early_desk.book()
    loan_id = str(loan["id"])
    paid = early_desk.pay(loan_id, "5480.95", PAID_ON).get_json()
    assert paid["to_credit"] == "100.00"
    quoted = _quote(early_desk, loan_id, kind="full").get_json()
    assert (quoted["credit"], quoted["total"]) == ("100.00", "7097.39")  # 7197.39 − 100.00
    posted = _early(early_desk, loan_id, kind="full", amount="7097.39")
    assert posted.status_code == 201, posted.get_json()
    state = early_desk.api.get(f"/loans/{loan_id}").get_json()
    assert (state["status"], state["credit_balance"]) == ("settled", "0.00")
    with early_desk.session() as session:
        assert ledger_problems(session, loan_id) == []
    path = f"/loans/{loan_id}/payments/{posted.get_json()['payment']['id']}/reverse"
    assert early_desk.api.post(path, json={"reason": "错误"}).status_code == 200
    state = early_desk.api.get(f"/loans/{loan_id}").get_json()
    assert (state["status"], state["credit_balance"]) == ("active", "100.00")
    with early_desk.session() as session:
        assert ledger_problems(session, loan_id) == []


def test_refusals_say_why(early_desk: Desk) -> None:
    barred = str(early_desk.book(NOT_ALLOWED_ID)["id"])
    answer = _early(early_desk, barred, kind="full", amount="20000.00")
    assert answer.status_code == 409
    assert answer.get_json()["message"] == "This loan's product does not allow early repayment."

    young = str(early_desk.book(SHORTEN_ONLY_ID)["id"])
    early_desk.pay(young, "2152.38", dt.date(2025, 3, 15))  # installments 1 and 2
    answer = _early(early_desk, young, kind="full", amount="20000.00")
    assert answer.status_code == 409
    assert answer.get_json()["message"] == (
        "This loan's product allows early repayment after 3 installments are paid; 2 are."
    )
    grown = _paid_five(early_desk, SHORTEN_ONLY_ID)
    answer = _early(
        early_desk, grown, kind="partial", amount="3000.00", recalculation="lower_installment"
    )
    assert answer.status_code == 422
    assert answer.get_json()["errors"]["recalculation"] == [
        "This loan's product does not offer lower_installment for early repayment."
    ]
    missing = _early(early_desk, grown, kind="partial", amount="3000.00")
    assert missing.get_json()["errors"]["recalculation"] == [
        "Choose shorten_term or lower_installment."
    ]

    behind = str(early_desk.book()["id"])  # nothing paid: 5 installments due on ON
    answer = _early(
        early_desk, behind, kind="partial", amount="5000.00", recalculation="shorten_term"
    )
    assert answer.status_code == 422
    assert answer.get_json()["errors"]["amount"] == [
        "The amount does not cover what is due on this day (5380.95)."
    ]
    whole = _early(
        early_desk, behind, kind="partial", amount="13000.00", recalculation="shorten_term"
    )
    assert whole.get_json()["errors"]["amount"] == [
        "This amount repays the whole loan: choose a full repayment."
    ]
    future = _early(early_desk, behind, kind="full", amount="1.00", repaid_on="2999-01-01")
    assert future.get_json()["errors"]["repaid_on"] == ["Enter a date that is not in the future."]
    with early_desk.session() as session:
        for loan_id in (barred, young, grown, behind):
            assert ledger_problems(session, loan_id) == []


def test_an_idempotent_retry_posts_once(early_desk: Desk) -> None:
    loan_id = _paid_five(early_desk)
    body = {"kind": "partial", "amount": "2000.00", "recalculation": "lower_installment"}
    first = _early(early_desk, loan_id, "tq-1", **body)
    again = _early(early_desk, loan_id, "tq-1", **body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    other = _early(early_desk, loan_id, "tq-1", **{**body, "amount": "2000.01"})
    assert other.status_code == 409
    paid = early_desk.api.get(f"/loans/{loan_id}/payments").get_json()
    assert len(paid) == 2  # the five installments, and the early repayment once
    with early_desk.session() as session:
        assert ledger_problems(session, loan_id) == []


def test_equal_principal_keeps_or_shrinks_the_principal_part(early_desk: Desk) -> None:
    # 12000.00 in 12 parts of 1000.00; interest 1% of the balance: 1-5 cost 5000.00 +
    # (120 + 110 + 100 + 90 + 80) = 5500.00; balance 7000.00
    loan_id = str(early_desk.book(CHEAP_ID)["id"])
    assert early_desk.pay(loan_id, "5500.00", PAID_ON).get_json()["to_credit"] == "0.00"
    quoted = _quote(early_desk, loan_id, kind="partial", amount="3000.00").get_json()
    assert quoted["principal"] == "2990.03"  # + 9.97 interest of 10 days
    remaining = Decimal("7000.00") - Decimal("2990.03")  # 4009.97
    options = {o["recalculation"]: o for o in quoted["options"]}
    shorter = options["shorten_term"]["installments"]
    # at most the 1000.00 part: ⌈4009.97 / 1000⌉ = 5 periods of 4009.97 / 5 = 801.99, the
    # cents left in the last
    five = cents(remaining / 5)
    assert [r["principal"] for r in shorter] == [f"{five:.2f}"] * 4 + [
        f"{remaining - 4 * five:.2f}"
    ]
    assert five == Decimal("801.99") and shorter[-1]["balance"] == "0.00"
    lower = options["lower_installment"]["installments"]
    part = cents(remaining / 7)  # 572.85, the rest in the last
    assert [r["principal"] for r in lower] == [f"{part:.2f}"] * 6 + [f"{remaining - 6 * part:.2f}"]
    assert lower[0]["interest"] == f"{cents(remaining * Decimal('0.01')):.2f}" == "40.10"
    posted = _early(
        early_desk, loan_id, kind="partial", amount="3000.00", recalculation="shorten_term"
    )
    assert posted.status_code == 201, posted.get_json()
    with early_desk.session() as session:
        assert ledger_problems(session, loan_id) == []


def test_interest_first_offers_only_a_lower_installment(early_desk: Desk) -> None:
    host = early_desk.app.extensions["loandesk.plugins"]
    products = next(p for p in host.pm.get_plugins() if isinstance(p, Products))
    bullet = uuid.UUID("0190a000-0000-7000-8000-0000000000e4")
    products.catalogue[bullet] = product(bullet, code="TQ04", method=Method.INTEREST_FIRST, fees=())
    loan_id = str(early_desk.book(bullet)["id"])
    assert early_desk.pay(loan_id, "600.00", PAID_ON).get_json()["to_credit"] == "0.00"
    quoted = _quote(early_desk, loan_id, kind="partial", amount="3000.00").get_json()
    assert [o["recalculation"] for o in quoted["options"]] == ["lower_installment"]
    rows = quoted["options"][0]["installments"]
    remaining = Decimal("12000.00") - Decimal("2990.03")  # 9009.97, interest 90.10 a month
    assert [r["interest"] for r in rows] == ["90.10"] * 7
    assert [r["principal"] for r in rows] == ["0.00"] * 6 + [f"{remaining:.2f}"]
    refused = _early(
        early_desk, loan_id, kind="partial", amount="3000.00", recalculation="shorten_term"
    )
    assert refused.status_code == 422 and "recalculation" in refused.get_json()["errors"]
    posted = _early(
        early_desk, loan_id, kind="partial", amount="3000.00", recalculation="lower_installment"
    )
    assert posted.status_code == 201, posted.get_json()
    with early_desk.session() as session:
        assert ledger_problems(session, loan_id) == []
