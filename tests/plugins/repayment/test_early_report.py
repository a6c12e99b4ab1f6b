"""The built-in report "early repayments" (提前还款统计): its numbers equal a query written by
hand over the early repayments table, a reversed early repayment counting nowhere."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from tests.platform.reports.conftest import reports_client
from tests.plugins.repayment.test_early_repayment import (  # noqa: F401
    EARLY_FEE_ID,
    ON,
    Desk,
    _early,
    _paid_five,
    early_desk,
)

BY_HAND = """
select substr(cast(e.repaid_on as text), 1, 7) as month, e.product_code as product,
       e.kind as kind, count(*) as count, sum(e.amount) as amount,
       sum(e.principal) as principal, sum(e.fee) as fee
from repayment_early_repayments e
join repayment_loans l on l.tenant_id = e.tenant_id and l.id = e.loan_id
where e.tenant_id = :tenant and e.status = 'posted'
group by substr(cast(e.repaid_on as text), 1, 7), e.product_code, e.kind
"""


def _by_hand(desk: Desk) -> dict[tuple[str, str, str], tuple[int, Decimal, Decimal, Decimal]]:
    with desk.session() as session:
        tenant = uuid.UUID(desk.firm.tenant.id)
        bound = tenant if session.bind.dialect.name == "postgresql" else tenant.hex
        rows = session.execute(text(BY_HAND), {"tenant": bound})
        # money is stored in 分
        return {
            (r.month, r.product, r.kind): (
                int(r.count),
                Decimal(r.amount) / 100,
                Decimal(r.principal) / 100,
                Decimal(r.fee) / 100,
            )
            for r in rows
        }


def _report(desk: Desk) -> dict[tuple[str, str, str], tuple[int, Decimal, Decimal, Decimal]]:
    reader = reports_client(
        desk.app,
        desk.app.test_client(),
        desk.firm.tenant.slug,
        desk.firm.tenant.id,
        desk.firm.staff["finance"].user_id,
    )
    answer = reader.post("/reports/builtin/repayment.early_repayments/run")
    assert answer.status_code == 200, answer.get_json()
    found: dict[tuple[str, str, str], Any] = {}
    for row in answer.get_json()["rows"]:
        key = (str(row["repaid_on"])[:7], row["product"], row["kind"])
        found[key] = (
            int(row["count"]),
            Decimal(str(row["amount"])),
            Decimal(str(row["principal"])),
            Decimal(str(row["fee"])),
        )
    return found


def test_the_report_equals_the_hand_written_query(early_desk: Desk) -> None:  # noqa: F811
    a = _paid_five(early_desk, EARLY_FEE_ID)
    assert _early(early_desk, a, kind="full", amount="7340.86").status_code == 201
    b = _paid_five(early_desk)
    body = {"kind": "partial", "amount": "3000.00", "recalculation": "lower_installment"}
    assert _early(early_desk, b, **body).status_code == 201
    c = _paid_five(early_desk)
    later = {**body, "repaid_on": dt.date(2025, 7, 20).isoformat()}
    assert _early(early_desk, c, **later).status_code == 201
    d = _paid_five(early_desk)
    undone = _early(early_desk, d, **body).get_json()
    path = f"/loans/{d}/payments/{undone['payment']['id']}/reverse"
    assert early_desk.api.post(path, json={"reason": "错误"}).status_code == 200

    by_hand = _by_hand(early_desk)
    assert by_hand == _report(early_desk)
    assert by_hand[("2025-06", "TQ01", "full")] == (
        1, Decimal("7340.86"), Decimal("7173.48"), Decimal("143.47"),
    )  # fmt: skip
    assert by_hand[("2025-06", "XF01", "partial")][0] == 1  # the reversed one is not counted
    assert ("2025-07", "XF01", "partial") in by_hand and ON.month == 6


def test_a_date_range_narrows_the_early_repayments_as_a_dashboard_asks(
    early_desk: Desk,  # noqa: F811
) -> None:
    """A dashboard's date range becomes filters on ``repaid_on``, a column of the dataset's
    rows (not a field of the loan): they are offered and narrow the rows."""
    body = {"kind": "partial", "amount": "3000.00", "recalculation": "lower_installment"}
    assert _early(early_desk, _paid_five(early_desk), **body).status_code == 201  # June
    july = {**body, "repaid_on": dt.date(2025, 7, 20).isoformat()}
    assert _early(early_desk, _paid_five(early_desk), **july).status_code == 201
    reader = reports_client(
        early_desk.app,
        early_desk.app.test_client(),
        early_desk.firm.tenant.slug,
        early_desk.firm.tenant.id,
        early_desk.firm.staff["finance"].user_id,
    )
    [described] = [
        d for d in reader.get("/reports/datasets").get_json()["items"]
        if d["key"] == "repayment.early_repayments"
    ]  # fmt: skip
    offered = {f["key"]: f["operators"] for f in described["filters"]}
    assert {"ge", "le"} <= set(offered["repaid_on"])

    def count(*filters: str) -> int:
        spec = {"dataset": "repayment.early_repayments", "measures": ["count"],
                "filters": list(filters)}  # fmt: skip
        answer = reader.post("/reports/query", json=spec)
        assert answer.status_code == 200, answer.get_json()
        return int(answer.get_json()["rows"][0]["count"]) if answer.get_json()["rows"] else 0

    assert count() == 2
    assert count("repaid_on:ge:2025-07-01", "repaid_on:le:2025-07-31") == 1
    assert count("repaid_on:lt:2025-06-01") == 0
    bad = reader.post("/reports/query", json={"dataset": "repayment.early_repayments",
                      "measures": ["count"], "filters": ["repaid_on:ge:not-a-date"]})  # fmt: skip
    assert bad.status_code == 422 and "filter.0" in bad.get_json()["errors"]
