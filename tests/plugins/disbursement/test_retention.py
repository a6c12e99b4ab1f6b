"""The payee's card on an order that ended longer ago than the tenant's retention period is
cleared (unreadable and unfindable), the order and its amounts kept; an open order is not."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from loandesk.db import utcnow
from tests.plugins.disbursement.conftest import CARD, PAID_ON, Desk


def test_ended_orders_lose_the_payee_card_after_the_period(desk: Desk, api_a) -> None:  # type: ignore[no-untyped-def]
    from loandesk_disbursement.models import Order

    from loandesk import sdk
    from loandesk.plugins import runtime
    from loandesk.privacy import retention

    paid = desk.approved(desk.book())
    assert desk.api("finance").post(
        f"/disbursements/{paid}/mark-paid", json={"bank_reference": "B1", "paid_on": str(PAID_ON)}
    ).status_code == 200  # fmt: skip
    still_open = desk.request(desk.book()).get_json()["id"]
    assert api_a.put("/retention", json={"periods": {"disbursement.order": 30}}).status_code == 422
    answer = api_a.put("/retention", json={"periods": {"disbursement.order": 3650}})
    assert answer.status_code == 200

    with desk.session() as session:
        session.execute(
            update(Order).values(updated_at=utcnow() - timedelta(days=3660))
        )  # both ended or touched ten years ago; only the ended one is due
    with desk.session() as session:
        available = retention.subjects(runtime.host(), {"disbursement"})
        (done,) = retention.run(session, available, timezone=sdk.current().timezone)
    assert (done.record_type, done.anonymised) == ("disbursement.order", 1)

    finance = desk.api("finance")
    gone = finance.get(f"/disbursements/{paid}").get_json()
    assert (gone["account_number"], gone["account_name"]) == (None, "已匿名化")
    assert (gone["status"], gone["amount"]) == ("paid", "12000.00")
    assert finance.get(f"/disbursements/{still_open}").get_json()["account_number"] == CARD
    with desk.session() as session:
        found = session.scalars(
            select(Order.id).where(Order.personal_match("account_number", CARD, keys=sdk.keyring()))
        ).all()
        assert found == [uuid.UUID(still_open)]
