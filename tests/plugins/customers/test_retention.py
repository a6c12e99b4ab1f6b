"""Customers closed longer ago than the tenant's retention period are anonymised: personal
fields cleared and unfindable (its emergency contacts' and bank cards' too), the record kept;
open or recently closed ones are untouched."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from loandesk.db import utcnow
from tests.plugins.customers.conftest import Firm, new_customer


def test_closed_customers_are_anonymised_after_the_period(app, firm: Firm, api_a) -> None:  # type: ignore[no-untyped-def]
    from loandesk_customers.models import Customer

    from loandesk.plugins import runtime
    from loandesk.privacy import retention
    from loandesk.tenancy import service, use

    officer, risk = firm.staff["officer1"].api, firm.staff["risk"].api
    old = new_customer(officer, name="老客户", marital_status="married")
    recent = new_customer(officer, name="新结清", mobile="13900139000")
    active = new_customer(officer, name="在贷", mobile="13700137000")
    officer.post(
        f"/customers/{old['id']}/contacts",
        json={"name": "老联系人", "relation": "sibling", "mobile": "13600136000"},
    )
    card = {"bank_name": "工行", "card_number": "6222020200112233446", "purpose": "repayment"}
    officer.post(f"/customers/{old['id']}/cards", json={**card, "holder_name": "老客户"})
    for customer in (old, recent):
        assert (
            risk.post(f"/customers/{customer['id']}/status", json={"status": "closed"}).status_code
            == 200
        )

    too_short = api_a.put("/retention", json={"periods": {"customers.customer": 30}})
    assert too_short.status_code == 422  # below the legal minimum
    assert (
        api_a.put("/retention", json={"periods": {"customers.customer": 3650}}).status_code == 200
    )

    db = app.extensions["loandesk"].db
    with db.transaction() as session:
        ref = service.get_by_slug(session, firm.tenant.slug).ref()
    with app.app_context(), use(ref), db.transaction() as session:
        row = session.scalar(select(Customer).where(Customer.name == "老客户"))
        row.closed_at = utcnow() - timedelta(days=3660)  # closed ten years and more ago
    with app.app_context(), use(ref), db.session_factory() as session:
        available = retention.subjects(runtime.host(), {"customers"})
        (done,) = retention.run(session, available, timezone=ref.timezone)
    assert (done.record_type, done.anonymised) == ("customers.customer", 1)

    auditor = firm.staff["auditor"].api
    gone = auditor.get(f"/customers/{old['id']}").get_json()
    assert gone["name"] == "已匿名化" and gone["mobile"] is None and gone["id_number"] is None
    assert gone["monthly_income"] is None and gone["marital_status"] is None
    assert gone["status"] == "closed"
    assert auditor.get("/customers", query_string={"q": "13800138000"}).get_json()["total"] == 0
    [contact] = auditor.get(f"/customers/{old['id']}/contacts").get_json()["items"]
    assert (contact["name"], contact["mobile"]) == ("已匿名化", None)
    [card_left] = auditor.get(f"/customers/{old['id']}/cards").get_json()["items"]
    assert (card_left["holder_name"], card_left["card_number"]) == ("已匿名化", None)
    for kept in (recent, active):
        assert auditor.get(f"/customers/{kept['id']}").get_json()["mobile"] is not None
    refused = risk.post(f"/customers/{old['id']}/status", json={"status": "active"})
    assert refused.status_code == 409  # an anonymised customer stays as it is
