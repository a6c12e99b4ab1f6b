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
