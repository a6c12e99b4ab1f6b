"""A small loan book for the collections and funder reports, every figure worked out by hand
(the schedules follow from the test products of ``conftest``: 1% a month, 30/360):

Loan A — XF01 (等额本息, a 10.00 fee with every installment; penalty → fees → interest →
principal), 3000.00 over 3 months paid out 2025-01-15, co-lent 70/30 by 甲银行 (P70) and
乙信托 (P30), officer1's (一组). Installments: 990.07 + 30.00 + 10.00 = 1030.07 due 02-15,
999.97 + 20.10 + 10.00 = 1030.07 due 03-15, 1009.96 + 10.10 + 10.00 = 1030.06 due 04-15.
Paid: 1030.07 on 02-15 (on time), 1030.07 on 03-20 (late), 333.33 on 04-15 (fees 10.00,
interest 10.10, principal 313.23), and 100.00 on 04-16 (principal), reversed today — so
installment 3 is overdue with 696.73 unpaid.

Loan B — XF02 (equal principal, no fees; interest → principal), 3000.00 over 3 months paid
out 2025-01-15, the tenant's own funds (自有资金), officer3's (二组). Installments 1030.00,
1020.00, 1010.00 due 02-15, 03-15, 04-15. Paid: 1030.00 on 02-15, 1020.00 on 03-15 (both on
time), 500.01 on 04-20 (interest 10.00, principal 490.01) — 509.99 overdue.

A's parts split 70/30, each share rounded down to the cent and the cent left to the larger
share: principal 990.07 → 693.05 / 297.02, 999.97 → 699.98 / 299.99, 313.23 → 219.27 /
93.96, 100.00 → 70.00 / 30.00; interest 30.00 → 21.00 / 9.00, 20.10 → 14.07 / 6.03,
10.10 → 7.07 / 3.03; each 10.00 fee → 7.00 / 3.00."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import ApiClient
from tests.platform.reports.conftest import reports_client
from tests.platform.reports.test_designer_web import Web
from tests.plugins.repayment.conftest import CHEAP_ID, PRODUCT_ID, Desk


@dataclass
class Portfolio:
    desk: Desk
    loan_a: str
    loan_b: str
    reversed_on: dt.date  # the tenant's day the reversal was booked

    def reader(self, name: str) -> ApiClient:
        return reader(self.desk, name)

    def web(self, name: str) -> Web:
        """A browser signed in as staff member ``name``."""
        return Web(self.desk.app, SimpleNamespace(desk=self.desk), name)  # type: ignore[arg-type]

    def run(self, name: str, key: str) -> list[dict[str, Any]]:
        answer = self.reader(name).post(f"/reports/builtin/{key}/run")
        assert answer.status_code == 200, answer.get_json()
        return list(answer.get_json()["rows"])


def reader(desk: Desk, name: str) -> ApiClient:
    """A ``reports:read`` API client acting for staff member ``name``."""
    firm = desk.firm
    return reports_client(
        desk.app, desk.app.test_client(), firm.tenant.slug, firm.tenant.id, firm.staff[name].user_id
    )


def shanghai_today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _pay(desk: Desk, loan_id: str, amount: str, on: dt.date) -> dict[str, Any]:
    answer = desk.pay(loan_id, amount, on)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["to_credit"] == "0.00"
    return dict(answer.get_json())


@pytest.fixture
def portfolio(desk: Desk) -> Portfolio:
    for code, name in (("P70", "甲银行"), ("P30", "乙信托")):
        answer = desk.api.post("/loans/funders", json={"code": code, "name": name})
        assert answer.status_code == 201, answer.get_json()
    staff = desk.firm.staff
    three = {"principal": "3000.00", "periods": 3}
    a = desk.book(
        PRODUCT_ID,
        owner_id=staff["officer1"].user_id,
        funders=[{"code": "P70", "share": "0.7"}, {"code": "P30", "share": "0.3"}],
        **three,
    )["id"]
    b = desk.book(CHEAP_ID, owner_id=staff["officer3"].user_id, **three)["id"]
    _pay(desk, a, "1030.07", dt.date(2025, 2, 15))
    _pay(desk, a, "1030.07", dt.date(2025, 3, 20))
    _pay(desk, a, "333.33", dt.date(2025, 4, 15))
    undone = _pay(desk, a, "100.00", dt.date(2025, 4, 16))
    before = shanghai_today()
    path = f"/loans/{a}/payments/{undone['id']}/reverse"
    answer = desk.api.post(path, json={"reason": "重复入账"})
    assert answer.status_code == 200, answer.get_json()
    assert shanghai_today() == before, "the test ran over midnight in Shanghai: run it again"
    _pay(desk, b, "1030.00", dt.date(2025, 2, 15))
    _pay(desk, b, "1020.00", dt.date(2025, 3, 15))
    _pay(desk, b, "500.01", dt.date(2025, 4, 20))
    return Portfolio(desk, str(a), str(b), before)


def may_export(api_a: ApiClient) -> None:
    """The finance clerk (export grant: every loan field) gets ``reports.export`` too."""
    role = next(r for r in api_a.get("/roles").get_json() if r["key"] == "finance")
    permissions = [*role["permissions"], "reports.export"]
    changed = api_a.patch(f"/roles/{role['id']}", json={"permissions": permissions})
    assert changed.status_code == 200, changed.get_json()
