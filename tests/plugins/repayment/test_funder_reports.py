# ruff: noqa: F811  (fixtures imported from the repayment tests are used by name)
"""Repayments by funder (资金方回款, issue 10 items 4 and 8): every repayment split by funder
share, read from the ledger — the built-in report by booking month and funder gives the
figures worked out by hand for the loan book of ``report_portfolio`` (a 70/30 loan whose odd
cents go to the larger share, a payment reversed in a later month netting out), each
payment's funders summing exactly to the payment, under the viewer's data scope and on the
reports page in Chinese."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from html import unescape
from typing import Any

from sqlalchemy import select

from tests.helpers import ApiClient
from tests.platform.reports.test_designer_web import table_cells
from tests.plugins.repayment.conftest import CHEAP_ID, Desk, desk  # noqa: F401
from tests.plugins.repayment.report_portfolio import (  # noqa: F401
    Portfolio,
    may_export,
    portfolio,
    reader,
)

KEY = "repayment.funder_repayments"
PARTS = ("principal", "interest", "fees", "penalty", "amount")
BANK, TRUST, OWN = "甲银行", "乙信托", "自有资金"


def _figures(*values: str | None) -> tuple[str | None, ...]:
    return values


def expected(reversed_month: str) -> dict[tuple[str, str], tuple[str | None, ...]]:
    """(month, funder) → principal, interest, fees, penalty, total; a part no line of the
    group paid is None."""
    return {
        # A's installment 1 (990.07 / 30.00 / 10.00), B's (1000.00 / 30.00)
        ("2025-02-01", BANK): _figures("693.05", "21.00", "7.00", None, "721.05"),
        ("2025-02-01", TRUST): _figures("297.02", "9.00", "3.00", None, "309.02"),
        ("2025-02-01", OWN): _figures("1000.00", "30.00", None, None, "1030.00"),
        # A's installment 2, paid late (999.97 / 20.10 / 10.00), B's (1000.00 / 20.00)
        ("2025-03-01", BANK): _figures("699.98", "14.07", "7.00", None, "721.05"),
        ("2025-03-01", TRUST): _figures("299.99", "6.03", "3.00", None, "309.02"),
        ("2025-03-01", OWN): _figures("1000.00", "20.00", None, None, "1020.00"),
        # A: 333.33 (313.23 / 10.10 / 10.00) and 100.00 of principal; B: 500.01
        ("2025-04-01", BANK): _figures("289.27", "7.07", "7.00", None, "303.34"),
        ("2025-04-01", TRUST): _figures("123.96", "3.03", "3.00", None, "129.99"),
        ("2025-04-01", OWN): _figures("490.01", "10.00", None, None, "500.01"),
        # the 100.00 reversed this month
        (reversed_month, BANK): _figures("-70.00", None, None, None, "-70.00"),
        (reversed_month, TRUST): _figures("-30.00", None, None, None, "-30.00"),
    }


def _by_month(rows: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[Any, ...]]:
    return {(r["booked_on"], r["funder"]): tuple(r[p] for p in PARTS) for r in rows}


def _month(day: dt.date) -> str:
    return day.replace(day=1).isoformat()


def test_repayments_by_funder_are_the_hand_worked_figures(portfolio: Portfolio) -> None:
    found = _by_month(portfolio.run("finance", KEY))
    assert found == expected(_month(portfolio.reversed_on))
    # each month's funders sum to what the payments booked that month paid
    months: dict[str, Decimal] = {}
    for (month, _), figures in found.items():
        months[month] = months.get(month, Decimal(0)) + Decimal(str(figures[-1]))
    assert months == {
        "2025-02-01": Decimal("2060.07"),  # 1030.07 + 1030.00
        "2025-03-01": Decimal("2050.07"),  # 1030.07 + 1020.00
        "2025-04-01": Decimal("933.34"),  # 333.33 + 100.00 + 500.01
        _month(portfolio.reversed_on): Decimal("-100.00"),
    }


def test_each_payment_splits_exactly_and_a_reversed_one_nets_out(portfolio: Portfolio) -> None:
    """By the day each payment was received: the funders' amounts sum to the payment to the
    cent, and the payment reversed months later sums to nothing."""
    spec = {
        "dataset": KEY,
        "dimensions": [{"key": "received_on"}, {"key": "funder_code"}, {"key": "entry"}],
        "measures": ["amount"],
    }
    answer = portfolio.reader("finance").post("/reports/query", json=spec)
    assert answer.status_code == 200, answer.get_json()
    rows = answer.get_json()["rows"]
    days: dict[str, Decimal] = {}
    for row in rows:
        days[row["received_on"]] = days.get(row["received_on"], Decimal(0)) + Decimal(row["amount"])
    with portfolio.desk.session() as session:
        from loandesk_repayment.models import Payment

        paid: dict[str, Decimal] = {}
        for p in session.scalars(select(Payment).where(Payment.status == "posted")):
            day = p.received_on.isoformat()
            paid[day] = paid.get(day, Decimal(0)) + p.amount
    assert days.pop("2025-04-16") == Decimal("0.00")  # the reversed 100.00
    assert days == paid
    assert sum(days.values(), Decimal(0)) == Decimal("4943.48")  # A 2393.47 + B 2550.01
    found = {(r["received_on"], r["funder_code"], r["entry"]): r["amount"] for r in rows}
    assert found[("2025-04-16", "P70", "payment")] == "70.00"
    assert found[("2025-04-16", "P70", "reversal")] == "-70.00"
    # the odd cent of 990.07 (principal) went to the larger share
    assert found[("2025-02-15", "P70", "payment")] == "721.05"
    assert found[("2025-02-15", "P30", "payment")] == "309.02"


def test_a_credit_officer_sees_only_their_loans(portfolio: Portfolio) -> None:
    every = expected(_month(portfolio.reversed_on))
    mine = _by_month(portfolio.run("officer1", KEY))
    assert mine == {k: v for k, v in every.items() if k[1] != OWN}
    theirs = _by_month(portfolio.run("officer3", KEY))
    assert theirs == {k: v for k, v in every.items() if k[1] == OWN}
    assert portfolio.run("officer2", KEY) == []


def test_the_reports_page_shows_it_in_chinese(portfolio: Portfolio) -> None:
    web = portfolio.web("finance")
    listing = unescape(web.get("/reports").get_data(as_text=True))
    assert 'id="builtin-repayment-funder_repayments"' in listing and "资金方回款" in listing
    page = web.get(f"/reports/builtin/{KEY}")
    assert page.status_code == 200, page.get_data(as_text=True)
    html = unescape(page.get_data(as_text=True))
    for label in ("记账日期", "资金方", "本金", "利息", "费用", "罚息", "回款合计"):
        assert label in html, label
    cells = table_cells(html)
    # months in order; a month's funders in the database's order of their names
    assert [c[0] for c in cells] == ["2025-02"] * 3 + ["2025-03"] * 3 + ["2025-04"] * 3 + [
        portfolio.reversed_on.strftime("%Y-%m")
    ] * 2
    shown = {(c[0], c[1]): c[2:] for c in cells}
    assert shown[("2025-02", BANK)] == ["693.05", "21.00", "7.00", "–", "721.05"]
    assert shown[("2025-02", TRUST)] == ["297.02", "9.00", "3.00", "–", "309.02"]
    assert shown[("2025-02", OWN)] == ["1000.00", "30.00", "–", "–", "1030.00"]
    reversed_month = portfolio.reversed_on.strftime("%Y-%m")
    assert shown[(reversed_month, TRUST)] == ["-30.00", "–", "–", "–", "-30.00"]


def test_the_export_carries_the_same_numbers(portfolio: Portfolio, api_a: ApiClient) -> None:
    """By the loan's unit (一组: loan A's two funders, 二组: loan B's own funds), the file
    holds what the payments still standing paid of each part."""
    may_export(api_a)
    spec = {
        "dataset": KEY,
        "dimensions": [{"key": "org_unit_id"}],
        "measures": list(PARTS),
        "format": "csv",
    }
    reader = portfolio.reader("finance")
    answer = reader.post("/reports/export", json=spec, headers={"Accept-Language": "zh-CN"})
    assert answer.status_code == 200, answer.get_json()
    header, *rows = list(csv.reader(io.StringIO(answer.get_data().decode("utf-8-sig"))))
    assert header == ["所属部门", "本金", "利息", "费用", "罚息", "回款合计"]
    assert {row[0]: row[1:] for row in rows} == {
        # principal 990.07 + 999.97 + 313.23, interest 30.00 + 20.10 + 10.10, fees 3 × 10.00
        "一组": ["2303.27", "60.20", "30.00", "", "2393.47"],
        # principal 1000.00 + 1000.00 + 490.01, interest 30.00 + 20.00 + 10.00
        "二组": ["2490.01", "60.00", "", "", "2550.01"],
    }


def test_money_kept_as_credit_is_no_funders(desk: Desk) -> None:
    """1100.00 paid on an installment of 1030.00 (XF02: 1000.00 principal, 30.00 interest):
    the funders share the 1030.00; the 70.00 kept as the borrower's credit is nobody's."""
    for code, name in (("P70", "甲银行"), ("P30", "乙信托")):
        assert desk.api.post("/loans/funders", json={"code": code, "name": name}).status_code == 201
    shares = [{"code": "P70", "share": "0.7"}, {"code": "P30", "share": "0.3"}]
    loan = desk.book(CHEAP_ID, principal="3000.00", periods=3, funders=shares)
    paid = desk.pay(loan["id"], "1100.00", dt.date(2025, 2, 15))
    assert paid.status_code == 201 and paid.get_json()["to_credit"] == "70.00", paid.get_json()
    spec = {"dataset": KEY, "dimensions": [{"key": "funder_code"}], "measures": list(PARTS)}
    answer = reader(desk, "finance").post("/reports/query", json=spec)
    assert answer.status_code == 200, answer.get_json()
    found = {r["funder_code"]: tuple(r[p] for p in PARTS) for r in answer.get_json()["rows"]}
    assert found == {
        "P70": ("700.00", "21.00", None, None, "721.00"),
        "P30": ("300.00", "9.00", None, None, "309.00"),
    }
