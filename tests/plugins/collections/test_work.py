"""Collections beyond the acceptance path: balancing (round robin, least loaded), the borrower
masked by field permission, the daily broken-promise check, early collection by the
automation action, the litigation dossier's sections, the performance report, validation
and permissions of the API."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from types import SimpleNamespace

from tests.plugins.collections.conftest import Floor, event_names
from tests.plugins.repayment.report_portfolio import reader


def test_round_robin_alternates_and_least_loaded_takes_the_idlest(floor: Floor) -> None:
    loans = [floor.desk.book()["id"] for _ in range(3)]
    floor.cob(dt.date(2025, 2, 20))
    owners = [floor.case_of(i)["owner_id"] for i in loans]
    assert owners == [floor.user("phone1"), floor.user("phone2"), floor.user("phone1")]
    # a second member of the least-loaded M2 team, with nothing yet, takes the next M2 case
    members = [floor.user("senior"), floor.user("phone2")]
    changed = floor.manager.put(f"/collections/queues/{floor.queues['M2']}/members",
                                json={"members": members})  # fmt: skip
    assert changed.status_code == 200, changed.get_json()
    floor.cob(dt.date(2025, 3, 20))
    # in the order close of business reports them: idlest first, ties to the first member
    m2 = [floor.case_of(i)["owner_id"] for i in loans]
    assert m2 == [floor.user("senior"), floor.user("phone2"), floor.user("senior")]
    listed = floor.manager.get("/collections/queues").get_json()
    counts = {q["id"]: q["open_cases"] for q in listed["items"]}
    assert counts[floor.queues["M2"]] == 3 and counts[floor.queues["M1"]] == 0


def test_the_borrower_is_masked_unless_the_viewers_field_permission_allows(floor: Floor) -> None:
    customer = floor.desk.customer_id
    added = floor.staff["officer1"].api.post(
        f"/customers/{customer}/contacts",
        json={"name": "李四", "relation": "spouse", "mobile": "13900139000"},
    )
    assert added.status_code == 201, added.get_json()
    loan = floor.desk.book()
    floor.cob(dt.date(2025, 2, 20))
    case = floor.case_of(loan["id"])
    seen = floor.staff["phone1"].api.get(f"/collections/cases/{case['id']}").get_json()
    borrower = seen["borrower"]
    assert borrower["name"] == "张三丰"
    assert borrower["phones"] == ["138****8000"] and "mobile" in borrower["masked"]
    assert borrower["contacts"] == [{"name": "李四", "relation": "spouse", "phone": "139****9000"}]
    full = floor.manager.get(f"/collections/cases/{case['id']}").get_json()["borrower"]
    assert full["phones"] == ["13800138000"] and full["masked"] == []
    assert full["contacts"][0]["phone"] == "13900139000"


def test_the_daily_check_breaks_promises_whose_day_passed(floor: Floor) -> None:
    from loandesk_collections.tracking import check_promises

    loan = floor.desk.book()
    floor.cob(dt.date(2025, 2, 20))
    case = floor.case_of(loan["id"])
    promise = {"amount": "200.00", "promised_on": "2025-02-22"}
    made = floor.staff["phone1"].api.post(f"/collections/cases/{case['id']}/promises", json=promise)
    assert made.status_code == 201
    with floor.desk.session() as session:
        assert check_promises(session, dt.date(2025, 2, 22)) == 0  # the day itself: not yet
        assert check_promises(session, dt.date(2025, 2, 23)) == 1
        assert check_promises(session, dt.date(2025, 2, 24)) == 0  # once
    detail = floor.manager.get(f"/collections/cases/{case['id']}").get_json()
    assert [p["status"] for p in detail["promises"]] == ["broken"]
    assert event_names(floor.desk, case["id"]).count("collection.promise_broken") == 1


def test_promises_and_actions_are_checked(floor: Floor) -> None:
    loan = floor.desk.book()
    floor.cob(dt.date(2025, 2, 20))
    case = floor.case_of(loan["id"])
    api = floor.staff["phone1"].api
    url = f"/collections/cases/{case['id']}"
    for body, field in (
        ({"amount": "0", "promised_on": "2025-03-01"}, "amount"),
        ({"amount": "1.234", "promised_on": "2025-03-01"}, "amount"),
        ({"amount": "100", "promised_on": "2025-02-01"}, "promised_on"),
        ({"amount": "100", "promised_on": "soon"}, "promised_on"),
    ):
        answer = api.post(f"{url}/promises", json=body)
        assert answer.status_code == 422, body
        assert set(answer.get_json()["errors"]) == {field}
    wrong = api.post(f"{url}/actions", json={"kind": "fax", "outcome": "no_answer"})
    assert wrong.status_code == 422 and "kind" in wrong.get_json()["errors"]
    officer = floor.staff["officer1"].api  # no collections permission
    assert officer.get(url).status_code == 403
    assert officer.get("/collections/cases").status_code == 403
    auditor = floor.staff["auditor"].api  # may view, not work
    assert auditor.get(url).status_code == 200
    assert (
        auditor.post(f"{url}/actions", json={"kind": "sms", "outcome": "delivered"}).status_code
        == 403
    )
    assert api.post("/collections/queues", json={"code": "X", "name": "X"}).status_code == 403
    assert api.get(f"/collections/cases/{uuid.uuid4()}").status_code == 404


def test_the_automation_action_assigns_a_loan_to_early_collection(floor: Floor) -> None:
    from loandesk_collections.automation import ASSIGN
    from loandesk_repayment.models import Loan
    from sqlalchemy import select

    loan = floor.desk.book()
    with floor.desk.session() as session:
        assert ASSIGN.check({"queue": "NOPE"}, None, session) != {}
        assert ASSIGN.check({"queue": "OUTB"}, None, session) == {}
        record = session.scalar(select(Loan).where(Loan.id == uuid.UUID(loan["id"])))
        result = ASSIGN.run(SimpleNamespace(session=session, record=record), {"queue": "OUTB"})
    case = floor.case_of(loan["id"])
    assert result["case"] == case["id"]
    assert (case["status"], case["early"], case["bucket"]) == ("open", True, "M0")
    assert case["agency_id"] == floor.agencies["AGB"]
    assert case["owner_id"] == floor.user("agent_b")
    # once overdue, the rules take over from the early queue
    floor.cob(dt.date(2025, 2, 20))
    assert floor.case_of(loan["id"])["queue_id"] == floor.queues["M1"]


def test_the_dossier_and_the_performance_report(floor: Floor) -> None:
    from loandesk import sdk

    loan = floor.desk.book()
    floor.cob(dt.date(2025, 2, 20))
    case = floor.case_of(loan["id"])
    api = floor.staff["phone1"].api
    api.post(f"/collections/cases/{case['id']}/actions",
             json={"kind": "call", "outcome": "no_answer", "note": "无人接听"})  # fmt: skip
    api.post(f"/collections/cases/{case['id']}/promises",
             json={"amount": "100.00", "promised_on": "2025-02-21"})  # fmt: skip
    assert floor.desk.pay(loan["id"], "100.00", dt.date(2025, 2, 20)).status_code == 201
    with floor.desk.session() as session:
        sections = sdk.dossier_sections(session, uuid.UUID(loan["id"]))
    found = {s.key: s for s in sections}
    assert [r[2:4] for r in found["collections.actions"].rows] == [("电话", "no_answer")]
    assert [r[2:] for r in found["collections.promises"].rows] == [
        ("100.00", "2025-02-21", "100.00", "已兑现")
    ]
    rows = reader(floor.desk, "manager").post(
        "/reports/builtin/collections.performance_by_collector/run"
    )
    assert rows.status_code == 200, rows.get_json()
    by_collector = {r["collector"]: r for r in rows.get_json()["rows"]}
    mine = by_collector[floor.user("phone1")]
    assert (mine["cases"], mine["actions"], mine["promises_made"], mine["promises_kept"]) == (
        1, 1, 1, 1,
    )  # fmt: skip
    assert Decimal(mine["collected"]) == Decimal("100.00")


def _statements_to_follow(floor: Floor, loan_ids: list[str], day: dt.date) -> int:
    """How many SQL statements the positions hook costs for these loans, all overdue."""
    from loandesk_collections.tracking import follow
    from sqlalchemy import event

    from loandesk import sdk

    with floor.desk.session() as session:
        book = sdk.loan_book()
        positions = []
        for loan_id in loan_ids:
            loan = book.get(session, loan_id)
            positions.append(
                sdk.LoanPosition(
                    id=loan.id, number=loan.number, customer_id=loan.customer_id,
                    product_code="XF01", owner_id=loan.owner_id, org_unit_id=loan.org_unit_id,
                    status="active", business_date=day, days_past_due=5, bucket="M1",
                    previous_bucket="M0", overdue_principal=Decimal("900.00"),
                    overdue_amount=Decimal("1076.00"), principal_outstanding=Decimal("12000.00"),
                    cause="cob",
                )
            )  # fmt: skip
        count = [0]

        def counted(*_: object) -> None:
            count[0] += 1

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", counted)
        try:
            follow(session, positions)
            session.flush()
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        return count[0]


def test_the_positions_hook_is_set_based(floor: Floor) -> None:
    few = [floor.desk.book()["id"] for _ in range(2)]
    many = [floor.desk.book()["id"] for _ in range(8)]
    day = dt.date(2025, 2, 20)
    assert _statements_to_follow(floor, few, day) == _statements_to_follow(floor, many, day)
    assert floor.case_of(many[-1])["queue_id"] == floor.queues["M1"]


def test_a_manager_moves_a_case_by_hand(floor: Floor) -> None:
    loan = floor.desk.book()
    floor.cob(dt.date(2025, 2, 20))
    case = floor.case_of(loan["id"])
    url = f"/collections/cases/{case['id']}/assignment"
    body = {"queue_id": floor.queues["M2"], "collector_id": floor.user("phone1")}
    assert floor.manager.put(url, json=body).status_code == 422  # not a member of M2
    moved = floor.manager.put(url, json={"queue_id": floor.queues["M2"]})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["owner_id"] == floor.user("senior")
    assert (
        floor.staff["phone1"].api.put(url, json={"queue_id": floor.queues["M1"]}).status_code == 403
    )
