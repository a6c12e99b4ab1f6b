"""The built-in report 放款金额 (disbursed amount by month, product and funder): its numbers
equal a hand-written SQL sum over the orders and their funders' parts; co-lending loans count
for each funder by share, unpaid orders not at all."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from tests.platform.reports.conftest import reports_client
from tests.plugins.disbursement.conftest import Desk

BY_HAND = """
select substr(cast(o.paid_on as text), 1, 7) as month, o.product_name as product,
       s.funder_name as funder, sum(s.amount) as cents
from disbursement_orders o
join disbursement_order_shares s on s.tenant_id = o.tenant_id and s.order_id = o.id
where o.tenant_id = :tenant and o.status = 'paid'
group by substr(cast(o.paid_on as text), 1, 7), o.product_name, s.funder_name
"""


def _paid(desk: Desk, loan_id: str, amount: str, day: dt.date) -> None:
    order_id = _approved(desk, loan_id, amount)
    answer = desk.api("finance").post(
        f"/disbursements/{order_id}/mark-paid",
        json={"bank_reference": f"B-{loan_id[-6:]}", "paid_on": day.isoformat()},
    )
    assert answer.status_code == 200, answer.get_json()


def _approved(desk: Desk, loan_id: str, amount: str) -> str:
    order_id = desk.request(loan_id, amount=amount).get_json()["id"]
    assert desk.api("finance").post(f"/disbursements/{order_id}/approve").status_code == 200
    return str(order_id)


def _db_uuid(session: Any, value: str) -> Any:
    return uuid.UUID(value) if session.bind.dialect.name == "postgresql" else uuid.UUID(value).hex


def test_disbursed_amount_by_month_product_and_funder_equals_sql(desk: Desk) -> None:
    _paid(desk, desk.book(co_lending=True), "12000.00", dt.date(2025, 3, 3))
    _paid(desk, desk.book("10000.01"), "10000.01", dt.date(2025, 3, 20))
    _paid(desk, desk.book("20000.00", co_lending=True), "20000.00", dt.date(2025, 4, 2))
    _paid(
        desk, desk.book("5000.00", product_id=desk.tranche_product_id, co_lending=True),
        "5000.00", dt.date(2025, 4, 30),
    )  # fmt: skip
    desk.request(desk.book("7000.00"), amount="7000.00")  # requested only: not counted

    finance = reports_client(
        desk.app, desk.app.test_client(), desk.firm.tenant.slug, desk.firm.tenant.id,
        desk.firm.staff["finance"].user_id,
    )  # fmt: skip
    answer = finance.post("/reports/builtin/disbursement.disbursed_amount/run")
    assert answer.status_code == 200, answer.get_json()
    report = {
        (str(row["paid_on"])[:7], row["product"], row["funder"]): Decimal(
            str(row["disbursed_amount"])
        )
        for row in answer.get_json()["rows"]
    }
    with desk.session() as session:
        rows = session.execute(text(BY_HAND), {"tenant": _db_uuid(session, desk.firm.tenant.id)})
        by_hand = {(r.month, r.product, r.funder): Decimal(int(r.cents)) / 100 for r in rows}
    assert report == by_hand
    # the loan booked without funders is the tenant's own funds, whatever the loan book calls them
    own = {k: v for k, v in by_hand.items() if k[2] not in ("某某信托", "自有资金池")}
    assert [(k[:2], v) for k, v in own.items()] == [
        (("2025-03", "工薪消费贷"), Decimal("10000.01"))
    ]
    assert {k: v for k, v in by_hand.items() if k not in own} == {
        ("2025-03", "工薪消费贷", "某某信托"): Decimal("8400.00"),
        ("2025-03", "工薪消费贷", "自有资金池"): Decimal("3600.00"),
        ("2025-04", "工薪消费贷", "某某信托"): Decimal("14000.00"),
        ("2025-04", "工薪消费贷", "自有资金池"): Decimal("6000.00"),
        ("2025-04", "装修分期贷", "某某信托"): Decimal("3500.00"),
        ("2025-04", "装修分期贷", "自有资金池"): Decimal("1500.00"),
    }
