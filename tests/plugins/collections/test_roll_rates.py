"""Roll rates (迁徙率): close of business over several month ends with a small portfolio,
the month-end snapshots it leaves and the ``collections.roll_rates`` dataset over them,
checked against numbers worked out by hand from the loans' schedules.

The portfolio (12000.00 over 12 months from 2025-01-15, due on the 15th):
- A never pays: M1 at the end of February (13 DPD), M2 in March (44), M3 in April (74),
  M3+ in May (105).
- B pays its arrears on 20 March (after that day's close of business): M1 in February, M0
  in March, then misses April's installment: M1 in April (15), M2 in May (46).
- C pays its arrears on 20 April: M1 in February, M2 in March, M0 in April, M1 in May (16).
- D is paid out in May and never behind: no rows."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ApiClient, TenantFixture, tenant_session
from tests.platform.reports.conftest import reports_client
from tests.plugins.collections.conftest import Floor
from tests.plugins.repayment.report_portfolio import reader

FEB, MAR, APR, MAY = (dt.date(2025, m, 1) for m in (2, 3, 4, 5))
PRINCIPAL = Decimal("12000.00")


def _rate(numerator: Decimal | int, denominator: Decimal | int) -> str:
    return str((Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"),
                                                                    ROUND_HALF_UP))  # fmt: skip


def _principal_due(floor: Floor, loan_id: str) -> list[Decimal]:
    """The principal of each installment of the loan's schedule, in order."""
    loan = floor.desk.api.get(f"/loans/{loan_id}").get_json()
    ordered = sorted(loan["installments"], key=lambda i: i["due_date"])
    return [Decimal(i["principal_due"]) for i in ordered]


def _pay_arrears(floor: Floor, loan_id: str, on: dt.date) -> None:
    owed = floor.case_of(loan_id)["overdue_amount"]
    paid = floor.desk.pay(loan_id, owed, on)
    assert paid.status_code == 201, paid.get_json()


def _month_ends(floor: Floor) -> dict[tuple[str, dt.date], tuple[Any, ...]]:
    from loandesk_collections.models import MonthEnd
    from sqlalchemy import select

    with floor.desk.session() as session:
        return {
            (str(r.loan_id), r.month): (
                r.id, r.bucket, r.days_past_due, r.principal_outstanding, r.business_date,
                r.product_code, str(r.org_unit_id),
            )
            for r in session.scalars(select(MonthEnd))
        }  # fmt: skip


def _run(floor: Floor, key: str = "collections.roll_rates_by_month") -> list[dict[str, Any]]:
    answer = reader(floor.desk, "manager").post(f"/reports/builtin/{key}/run")
    assert answer.status_code == 200, answer.get_json()
    return list(answer.get_json()["rows"])


def _portfolio(floor: Floor) -> dict[str, dict[str, Any]]:
    loans = {name: floor.desk.book() for name in "ABC"}
    floor.cob(dt.date(2025, 2, 28))
    floor.cob(dt.date(2025, 3, 20))
    _pay_arrears(floor, loans["B"]["id"], dt.date(2025, 3, 20))  # mid-month: Feb and Mar
    floor.cob(dt.date(2025, 3, 31))
    floor.cob(dt.date(2025, 4, 20))
    _pay_arrears(floor, loans["C"]["id"], dt.date(2025, 4, 20))  # Feb, Mar and Apr
    floor.cob(dt.date(2025, 4, 30))
    loans["D"] = floor.desk.book(disbursed_on="2025-05-20")
    floor.cob(dt.date(2025, 5, 31))
    return loans


def test_month_end_snapshots_and_the_roll_rates_match_the_hand_count(floor: Floor) -> None:
    loans = _portfolio(floor)
    a, b, c, d = (loans[k]["id"] for k in "ABCD")
    parts = _principal_due(floor, b)
    assert parts == _principal_due(floor, c)
    b_left, c_left = PRINCIPAL - sum(parts[:2]), PRINCIPAL - sum(parts[:3])

    rows = _month_ends(floor)
    found = {key: (row[1], row[2], row[3]) for key, row in rows.items()}
    assert found == {
        (a, FEB): ("M1", 13, PRINCIPAL),
        (a, MAR): ("M2", 44, PRINCIPAL),
        (a, APR): ("M3", 74, PRINCIPAL),
        (a, MAY): ("M3+", 105, PRINCIPAL),
        (b, FEB): ("M1", 13, PRINCIPAL),
        (b, MAR): ("M0", 0, b_left),  # paid up on the 20th: recorded M0
        (b, APR): ("M1", 15, b_left),
        (b, MAY): ("M2", 46, b_left),
        (c, FEB): ("M1", 13, PRINCIPAL),
        (c, MAR): ("M2", 44, PRINCIPAL),
        (c, APR): ("M0", 0, c_left),
        (c, MAY): ("M1", 16, c_left),
    }  # D: never behind, no rows
    assert all(r[4] in (dt.date(2025, 2, 28), dt.date(2025, 3, 20), dt.date(2025, 3, 31),
                        dt.date(2025, 4, 20), dt.date(2025, 4, 30), dt.date(2025, 5, 31))
               for r in rows.values())  # fmt: skip
    assert rows[(b, MAR)][4] == dt.date(2025, 3, 20)  # the payment's position: the last in March
    assert {r[5] for r in rows.values()} == {loans["A"]["product_terms"]["code"]}
    assert not any(key[0] == d for key in rows)

    report = {(r["month"], r["from_bucket"]): r for r in _run(floor)}
    # May has no month after it yet: it counts nowhere
    assert sorted(report) == [
        ("2025-02-01", "M1"),
        ("2025-03-01", "M0"),
        ("2025-03-01", "M2"),
        ("2025-04-01", "M0"),
        ("2025-04-01", "M1"),
        ("2025-04-01", "M3"),
    ]

    def expect(loans: int, balance: Decimal, forward: int, rolled: Decimal, cured: int) -> dict:
        return {
            "loans": loans, "balance": str(balance), "rolled_forward": forward,
            "rolled_balance": str(rolled), "cured": cured,
            "roll_rate": _rate(forward, loans), "balance_roll_rate": _rate(rolled, balance),
            "cure_rate": _rate(cured, loans),
        }  # fmt: skip

    def got(key: tuple[str, str]) -> dict[str, Any]:
        return {k: v for k, v in report[key].items() if k not in ("month", "from_bucket")}

    # February, M1: A and C roll to M2 (their March principal: all of it), B is cured
    feb = expect(3, 3 * PRINCIPAL, 2, 2 * PRINCIPAL, 1)
    assert got(("2025-02-01", "M1")) == feb
    assert (feb["roll_rate"], feb["cure_rate"]) == ("0.6667", "0.3333")
    # March, M2: A rolls to M3, C is cured; M0: B falls behind again (M1)
    assert got(("2025-03-01", "M2")) == expect(2, 2 * PRINCIPAL, 1, PRINCIPAL, 1)
    assert got(("2025-03-01", "M0")) == expect(1, b_left, 1, b_left, 0)
    # April: A M3 → M3+, B M1 → M2, C M0 → M1
    assert got(("2025-04-01", "M3")) == expect(1, PRINCIPAL, 1, PRINCIPAL, 0)
    assert got(("2025-04-01", "M1")) == expect(1, b_left, 1, b_left, 0)
    assert got(("2025-04-01", "M0")) == expect(1, c_left, 1, c_left, 0)


def test_the_transitions_by_bucket_a_month_later(floor: Floor) -> None:
    _portfolio(floor)
    spec = {
        "dataset": "collections.roll_rates",
        "dimensions": [{"key": "from_bucket"}, {"key": "to_bucket"}, {"key": "movement"}],
        "measures": ["loans"],
    }
    answer = reader(floor.desk, "manager").post("/reports/query", json=spec)
    assert answer.status_code == 200, answer.get_json()
    moves = {(r["from_bucket"], r["to_bucket"], r["movement"]): r["loans"]
             for r in answer.get_json()["rows"]}  # fmt: skip
    assert moves == {
        ("M0", "M1", "forward"): 2,
        ("M1", "M0", "cured"): 1,
        ("M1", "M2", "forward"): 3,
        ("M2", "M0", "cured"): 1,
        ("M2", "M3", "forward"): 1,
        ("M3", "M3+", "forward"): 1,
    }


def test_a_rerun_of_close_of_business_changes_no_snapshot(floor: Floor) -> None:
    loans = _portfolio(floor)
    before = _month_ends(floor)
    report = _run(floor)
    floor.cob(dt.date(2025, 5, 31))
    floor.cob(dt.date(2025, 5, 31))
    assert _month_ends(floor) == before  # the same rows, ids and values
    assert _run(floor) == report
    # a payment after the month's last close of business is the loan's month end now
    _pay_arrears(floor, loans["A"]["id"], dt.date(2025, 5, 31))
    after = _month_ends(floor)
    a_may = (loans["A"]["id"], MAY)
    assert after[a_may][0] == before[a_may][0]  # the same row, restated
    assert (after[a_may][1], after[a_may][2]) == ("M0", 0)
    assert len(after) == len(before)


def test_rows_stay_with_their_tenant(
    floor: Floor, app: Flask, client: FlaskClient, tenant_b: TenantFixture, api_b: ApiClient
) -> None:
    from loandesk_collections import month_ends
    from loandesk_collections.models import MonthEnd
    from sqlalchemy import func, select

    _portfolio(floor)
    assert len(_run(floor)) == 6
    for name in ("customers", "repayment", "collections"):
        answer = api_b.put(f"/plugins/{name}", json={"enabled": True})
        assert answer.status_code == 200, answer.get_json()
    other = reports_client(app, client, tenant_b.slug, tenant_b.id, tenant_b.admin_user_id)
    answer = other.post("/reports/builtin/collections.roll_rates_by_month/run")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["rows"] == []
    with tenant_session(app, tenant_b.slug) as session:
        assert session.scalars(select(MonthEnd)).all() == []
        if session.get_bind().dialect.name == "postgresql":  # row-level security: no rows
            assert session.execute(select(func.count()).select_from(month_ends.M)).scalar() == 0
    with floor.desk.session() as session:
        assert session.execute(select(func.count()).select_from(MonthEnd)).scalar() == 12


def test_a_collector_with_the_own_scope_counts_only_their_cases_loans(
    floor: Floor, api_a: ApiClient
) -> None:
    loans = _portfolio(floor)
    role = next(r for r in api_a.get("/roles").get_json() if r["key"] == "collector")
    put = api_a.put(f"/roles/{role['id']}/record-access/collection_case", json={"scope": "own"})
    assert put.status_code == 200, put.get_json()
    # B's case ended in M2: the senior team's only member has it
    assert floor.case_of(loans["B"]["id"])["owner_id"] == floor.user("senior")
    spec = {
        "dataset": "collections.roll_rates",
        "dimensions": [{"key": "month", "bucket": "month"}, {"key": "from_bucket"}],
        "measures": ["loans", "rolled_forward", "cured"],
    }
    answer = reader(floor.desk, "senior").post("/reports/query", json=spec)
    assert answer.status_code == 200, answer.get_json()
    assert [(r["month"], r["from_bucket"], r["loans"], r["rolled_forward"], r["cured"])
            for r in answer.get_json()["rows"]] == [
        ("2025-02-01", "M1", 1, 0, 1),
        ("2025-03-01", "M0", 1, 1, 0),
        ("2025-04-01", "M1", 1, 1, 0),
    ]  # fmt: skip
