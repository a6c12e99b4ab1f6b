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
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from loandesk.finance import EarlyRepayment, Recalculation
from tests.plugins.customers.conftest import audit_events
from tests.plugins.repayment.conftest import (
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
