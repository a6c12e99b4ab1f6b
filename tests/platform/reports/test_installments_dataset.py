# ruff: noqa: F811  (fixtures imported from the customers tests are used by name)
"""Overdue rate by region × month over installments (the ``testloans`` fixture plugin's
dataset, until the servicing plugins bring theirs): the report's numbers through
``POST /api/v1/reports/query`` equal hand-written SQL over the same rows — sums of the
principal still owed, the rate rounded half up to four places — on SQLite and PostgreSQL, and
a collector (scope "own") or a risk manager (scope "unit") gets only the numbers of the
installments they reach."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import bindparam, text
from sqlalchemy.types import Uuid

from tests.helpers import ApiClient, tenant_session
from tests.platform.reports.conftest import reports_client
from tests.plugins.customers.conftest import Firm, firm  # noqa: F401

pytestmark = pytest.mark.usefixtures("testloans_distribution")

DATASET = "testloans.installments"
BY_REGION_AND_MONTH = {
    "dataset": DATASET,
    "dimensions": [{"key": "province"}, {"key": "due_date", "bucket": "month"}],
    "measures": ["outstanding_balance", "overdue_balance", "overdue_rate", "count"],
}
# (owner, unit, district code, due date, status, principal outstanding): 北京 (110000),
# 广东 (440000) and 四川 (510000) over January to March 2026. 北京's January rate is
# 24.69 / 200.00 = 0.12345, a tie that rounds half up to 0.1235 (half to even: 0.1234);
# 四川 owes nothing in February (no rate), 北京 nothing overdue in March (a rate of 0).
SEED = (
    ("officer1", "team1", "110105", date(2026, 1, 5), "overdue", "24.69"),
    ("officer1", "team1", "110108", date(2026, 1, 31), "due", "175.31"),
    ("collector", "team1", "440305", date(2026, 1, 10), "paid", "1800.00"),
    ("collector", "team1", "440305", date(2026, 1, 1), "overdue", "3000.00"),
    ("collector", "team1", "440305", date(2026, 1, 20), "due", "1000.00"),
    ("officer3", "team2", "440106", date(2026, 1, 28), "due", "2000.00"),
    ("officer3", "team2", "440106", date(2026, 2, 1), "overdue", "1234.56"),
    ("collector", "team1", "440106", date(2026, 2, 14), "due", "5000.00"),
    ("officer1", "team1", "510104", date(2026, 2, 28), "paid", "0.00"),
    ("finance", "company", "510104", date(2026, 3, 1), "overdue", "999.99"),
    ("collector", "team1", "510107", date(2026, 3, 15), "overdue", "333.33"),
    ("collector", "team1", "510107", date(2026, 3, 31), "due", "666.67"),
    ("officer3", "team2", "110101", date(2026, 3, 9), "due", "0.01"),
)


class Ledger:
    def __init__(self, app: Flask, firm: Firm, api: dict[str, ApiClient]) -> None:
        self.app, self.firm, self.api = app, firm, api

    def user(self, name: str) -> uuid.UUID:
        return uuid.UUID(self.firm.staff[name].user_id)

    def sql(self, statement: str, **params: Any) -> list[tuple[Any, ...]]:
        """A hand-written query over the firm's tenant (``:tenant`` bound to its id; ids in
        ``params`` bound as ids)."""
        params = {"tenant": uuid.UUID(self.firm.tenant.id), **params}
        ids = [k for k, v in params.items() if isinstance(v, uuid.UUID)]
        query = text(statement).bindparams(*(bindparam(k, type_=Uuid) for k in ids))
        with tenant_session(self.app, self.firm.tenant.slug) as session:
            return [tuple(r) for r in session.execute(query, params)]

    @property
    def dialect(self) -> str:
        with tenant_session(self.app, self.firm.tenant.slug) as session:
            return session.get_bind().dialect.name

    def report(self, who: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.api[who].post("/reports/query", json=spec)
        assert response.status_code == 200, response.get_json()
        return list(response.get_json()["rows"])


@pytest.fixture
def ledger(firm: Firm, app: Flask, client: FlaskClient, api_a: ApiClient) -> Iterator[Ledger]:
    """The firm with the installments plugin, ``SEED`` written to the table, and reports
    clients acting for finance (all), the collector (own) and the risk manager (his branch)."""
    from loandesk_testloans.models import TestInstallment

    assert api_a.put("/plugins/testloans", json={"enabled": True}).status_code == 200
    with tenant_session(app, firm.tenant.slug) as session:
        for number, (owner, unit, region, due, status, left) in enumerate(SEED, 1):
            session.add(
                TestInstallment(
                    loan_number=f"JJ{number:06d}",
                    period=1,
                    due_date=due,
                    amount=Decimal("5000.00"),
                    status=status,
                    region=region,
                    province=region[:2] + "0000",
                    principal_outstanding=Decimal(left),
                    days_past_due=30 if status == "overdue" else 0,
                    owner_id=uuid.UUID(firm.staff[owner].user_id),
                    org_unit_id=uuid.UUID(firm.units[unit]),
                )
            )
    api = {
        name: reports_client(
            app, client, firm.tenant.slug, firm.tenant.id, firm.staff[name].user_id
        )
        for name in ("finance", "collector", "risk")
    }
    yield Ledger(app, firm, api)


def expected(ledger: Ledger, where: str = "", **params: Any) -> dict[tuple[str, str], Any]:
    """Overdue rate by province × month by hand: the sums in SQL, the rate in Decimal."""
    month = (
        "to_char(date_trunc('month', due_date), 'YYYY-MM-DD')"
        if ledger.dialect == "postgresql"
        else "strftime('%Y-%m-01', due_date)"
    )
    found = ledger.sql(
        f"SELECT province, {month} AS month, sum(principal_outstanding), "
        "sum(CASE WHEN status = 'overdue' THEN principal_outstanding END), count(*) "
        f"FROM testloans_installments WHERE tenant_id = :tenant {where} "
        "GROUP BY province, month",
        **params,
    )
    return {
        (province, month): {
            "province": province,
            "due_date": month,
            "outstanding_balance": str(Decimal(total).scaleb(-2)),
            "overdue_balance": None if overdue is None else str(Decimal(overdue).scaleb(-2)),
            "overdue_rate": rate(overdue or 0, total),
            "count": count,
        }
        for province, month, total, overdue, count in found
    }


def rate(overdue: int, total: int) -> str | None:
    if not total:
        return None
    return str((Decimal(overdue) / Decimal(total)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def keyed(rows: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    return {(r["province"], r["due_date"]): r for r in rows}


def test_overdue_rate_by_region_and_month_equals_hand_written_sql(ledger: Ledger) -> None:
    found = ledger.report("finance", BY_REGION_AND_MONTH)
    assert keyed(found) == expected(ledger)
    assert len(found) == 6
    assert [(r["province"], r["due_date"]) for r in found] == sorted(keyed(found))
    beijing = keyed(found)[("110000", "2026-01-01")]
    assert (beijing["overdue_balance"], beijing["outstanding_balance"]) == ("24.69", "200.00")
    assert beijing["overdue_rate"] == "0.1235"  # 0.12345 rounded half up
    assert keyed(found)[("510000", "2026-02-01")]["overdue_rate"] is None  # nothing owed
    assert keyed(found)[("110000", "2026-03-01")]["overdue_rate"] == "0.0000"  # none overdue


def test_a_collector_gets_only_their_own_installments(ledger: Ledger) -> None:
    found = ledger.report("collector", BY_REGION_AND_MONTH)
    mine = expected(ledger, "AND owner_id = :owner", owner=ledger.user("collector"))
    assert keyed(found) == mine
    assert sum(r["count"] for r in found) == sum(1 for row in SEED if row[0] == "collector")
    assert keyed(found) != expected(ledger)


def test_a_risk_manager_gets_their_branch(ledger: Ledger) -> None:
    found = ledger.report("risk", {**BY_REGION_AND_MONTH, "measures": ["overdue_rate", "count"]})
    company = ledger.firm.units["company"]
    theirs = expected(ledger, "AND org_unit_id != :company", company=uuid.UUID(company))
    assert {k: (r["overdue_rate"], r["count"]) for k, r in keyed(found).items()} == {
        k: (r["overdue_rate"], r["count"]) for k, r in theirs.items()
    }
    assert sum(r["count"] for r in found) == len(SEED) - 1  # not finance's, of the company


def test_the_dataset_offers_region_month_and_the_rate(ledger: Ledger) -> None:
    response = ledger.api["finance"].get("/reports/datasets")
    assert response.status_code == 200, response.get_json()
    body = next(d for d in response.get_json()["items"] if d["key"] == DATASET)
    dimensions = {d["key"]: d for d in body["dimensions"]}
    assert dimensions["province"]["kind"] == "region"
    assert "month" in dimensions["due_date"]["buckets"]
    assert {"outstanding_balance", "overdue_balance", "overdue_rate"} <= {
        m["key"] for m in body["measures"]
    }
