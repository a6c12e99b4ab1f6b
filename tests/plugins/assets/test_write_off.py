"""Write-off (核销) with maker-checker: the finance clerk asks, with a reason; neither the maker
nor a collector may approve (nor anyone without ``assets.write_off_approve``); the risk manager
approves, and the loan book writes the loan off (status, ledger, audit, events). Payments after
it are recoveries, restated on the write-off after each payment and reversal, and the
built-in recovery-rate report (dataset ``assets.recovery``) shows written off, recovered and
the rate."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import select

from tests.platform.reports.conftest import reports_client
from tests.plugins.assets.conftest import api
from tests.plugins.customers.conftest import add_staff, audit_events
from tests.plugins.repayment.conftest import Desk, ledger_problems
from tests.plugins.repayment.test_cob import _cob


def _overdue_loan(desk: Desk) -> str:
    loan = desk.book()
    assert desk.pay(loan["id"], "500.00", dt.date(2025, 3, 20)).status_code == 201
    _cob(desk, dt.date(2025, 9, 1))
    return str(loan["id"])


def _request(desk: Desk, loan_id: str, who: str = "finance") -> dict[str, object]:
    answer = api(desk, who).post(
        "/assets/write-offs", json={"loan_id": loan_id, "reason": "借款人失联，诉讼无可执行财产"}
    )
    assert answer.status_code == 201, answer.get_json()
    return dict(answer.get_json())


def test_one_asks_another_approves_and_the_loan_is_written_off(assets_desk: Desk) -> None:
    desk = assets_desk
    loan_id = _overdue_loan(desk)
    asked = _request(desk, loan_id)
    assert asked["status"] == "requested"
    again = api(desk, "backoffice").post(
        "/assets/write-offs", json={"loan_id": loan_id, "reason": "重复"}
    )
    assert again.status_code == 409
    path = f"/assets/write-offs/{asked['id']}/approve"
    assert api(desk, "finance").post(path, json={}).status_code == 403  # no permission
    assert api(desk, "collector2").post(path, json={}).status_code == 403
    assert desk.api.get(f"/loans/{loan_id}").get_json()["status"] == "active"

    approved = api(desk, "chief").post(path, json={"note": "同意核销"})
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert (
        body["status"] == "approved" and body["reviewed_by_id"] == desk.firm.staff["chief"].user_id
    )
    assert Decimal(body["total"]) > Decimal("11000") and Decimal(body["recovered"]) == 0
    assert desk.api.get(f"/loans/{loan_id}").get_json()["status"] == "written_off"
    assert api(desk, "chief").post(path, json={}).status_code == 409  # reviewed already
    with desk.session() as session:
        assert ledger_problems(session, loan_id) == []
    actions = [e.action for e in audit_events(desk.app, desk.firm, "assets.write_off.approved")]
    assert actions == ["assets.write_off.approved"]
    assert len(audit_events(desk.app, desk.firm, "loan.write_off")) == 1
    from loandesk.events import OutboxEvent

    with desk.session() as session:
        names = {e.name for e in session.scalars(select(OutboxEvent))}
    assert {"write_off.requested", "write_off.approved", "loan.written_off"} <= names
    # the written-off loan leaves provisions
    lines = api(desk, "chief").get("/assets/provisions").get_json()["lines"]
    assert sum(line["loans"] for line in lines) == 0


def test_neither_the_maker_nor_a_collector_may_approve_whatever_their_roles(
    assets_desk: Desk,
) -> None:
    desk = assets_desk
    company = desk.firm.units["company"]
    for name, roles in (("both", ["finance", "risk_manager"]),
                        ("collecting_chief", ["collector", "risk_manager"])):  # fmt: skip
        desk.firm.staff[name] = add_staff(
            desk.app, desk.api.client, desk.firm.tenant, name, roles, company
        )
    loan_id = _overdue_loan(desk)
    asked = _request(desk, loan_id, who="both")
    path = f"/assets/write-offs/{asked['id']}/approve"
    refused = api(desk, "both").post(path, json={})
    assert refused.status_code == 403
    assert "another person" in refused.get_json()["message"]
    collector = api(desk, "collecting_chief").post(path, json={})
    assert collector.status_code == 403
    assert "Collectors" in collector.get_json()["message"]
    blank = api(desk, "chief").post(f"/assets/write-offs/{asked['id']}/reject", json={"note": ""})
    assert blank.status_code == 422 and "note" in blank.get_json()["errors"]
    rejected = api(desk, "chief").post(
        f"/assets/write-offs/{asked['id']}/reject", json={"note": "仍有还款意愿"}
    )
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    assert desk.api.get(f"/loans/{loan_id}").get_json()["status"] == "active"
    # rejected: the loan may be asked for again
    assert _request(desk, loan_id)["status"] == "requested"


def test_recoveries_after_the_write_off_and_the_recovery_rate_report(assets_desk: Desk) -> None:
    desk = assets_desk
    loan_id = _overdue_loan(desk)
    asked = _request(desk, loan_id)
    done = api(desk, "chief").post(f"/assets/write-offs/{asked['id']}/approve", json={})
    total = Decimal(done.get_json()["total"])
    first = desk.pay(loan_id, "1200.00", dt.date(2025, 10, 10))
    assert first.status_code == 201, first.get_json()
    second = desk.pay(loan_id, "300.00", dt.date(2025, 10, 11))
    assert second.status_code == 201
    one = api(desk, "chief").get(f"/assets/write-offs/{asked['id']}").get_json()
    assert Decimal(one["recovered"]) == Decimal("1500.00")
    undo = desk.api.post(
        f"/loans/{loan_id}/payments/{second.get_json()['id']}/reverse", json={"reason": "录错"}
    )
    assert undo.status_code == 200, undo.get_json()
    one = api(desk, "chief").get(f"/assets/write-offs/{asked['id']}").get_json()
    assert Decimal(one["recovered"]) == Decimal("1200.00")

    reader = reports_client(desk.app, desk.app.test_client(), desk.firm.tenant.slug,
                            desk.firm.tenant.id, desk.firm.staff["chief"].user_id)  # fmt: skip
    answer = reader.post("/reports/builtin/assets.recovery/run")
    assert answer.status_code == 200, answer.get_json()
    (row,) = answer.get_json()["rows"]
    assert Decimal(str(row["written_off"])) == total
    assert Decimal(str(row["recovered"])) == Decimal("1200.00")
    assert Decimal(str(row["recovery_rate"])) == (Decimal("1200.00") / total).quantize(
        Decimal("0.0001")
    )


def test_write_off_requests_need_a_reason_and_an_active_loan_of_the_tenant(
    assets_desk: Desk,
) -> None:
    desk = assets_desk
    loan = desk.book()
    finance = api(desk, "finance")
    blank = finance.post("/assets/write-offs", json={"loan_id": loan["id"], "reason": " "})
    assert blank.status_code == 422 and "reason" in blank.get_json()["errors"]
    missing = finance.post("/assets/write-offs", json={"loan_id": str(uuid.uuid4()), "reason": "x"})
    assert missing.status_code == 404
    listed = api(desk, "chief").get("/assets/write-offs?status=requested").get_json()
    assert listed["total"] == 0 and listed["items"] == []
