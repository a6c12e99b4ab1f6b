"""Acceptance (collections): a case opens when close of business finds the loan overdue and
goes to the M1 phone team by the rules; a promise whose date passes unpaid is broken and its
collector gets a to-do; the loan rolls into M2 and the case moves to the M2 senior team;
paying the arrears closes the case. A promise paid in full is kept. Agency users see only
their agency's cases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.plugins.collections.conftest import Floor, event_names
from tests.plugins.repayment.conftest import signed_in_as


def _todos(floor: Floor, case_id: str) -> list[tuple[str, str | None, str | None]]:
    """The to-dos linked to the case: (assignee, role, state)."""
    from loandesk.todos import service

    with floor.desk.session() as session:
        found = service.of_record(session, "collection_case", case_id)
        return [
            (str(t.assignee_user_id), t.assignee_role, "done" if t.done_at else "open")
            for t in found
        ]


def test_a_case_rolls_from_m1_to_m2_a_broken_promise_raises_a_todo_and_paying_closes_it(
    floor: Floor,
) -> None:
    loan = floor.desk.book()  # 12000.00 over 12 months from 2025-01-15: due on the 15th
    floor.cob(dt.date(2025, 2, 10))
    listed = floor.manager.get("/collections/cases?status=all").get_json()
    assert listed["total"] == 0  # not overdue yet: no case

    floor.cob(dt.date(2025, 2, 20))
    case = floor.case_of(loan["id"])
    assert (case["status"], case["bucket"], case["days_past_due"]) == ("open", "M1", 5)
    assert case["queue_id"] == floor.queues["M1"]
    assert case["owner_id"] == floor.user("phone1")  # round robin: the first member
    assert Decimal(case["overdue_amount"]) > 0

    phone1 = floor.staff["phone1"].api
    call = {"kind": "call", "outcome": "promised", "contact": "本人"}
    logged = phone1.post(f"/collections/cases/{case['id']}/actions", json=call)
    assert logged.status_code == 201, logged.get_json()
    promised = phone1.post(f"/collections/cases/{case['id']}/promises",
                           json={"amount": "500.00", "promised_on": "2025-02-25"})  # fmt: skip
    assert promised.status_code == 201, promised.get_json()
    assert promised.get_json()["status"] == "open"
    assert _todos(floor, case["id"]) == []

    floor.cob(dt.date(2025, 3, 1))  # 25 February passed without a payment
    detail = phone1.get(f"/collections/cases/{case['id']}").get_json()
    assert [p["status"] for p in detail["promises"]] == ["broken"]
    assert _todos(floor, case["id"]) == [(floor.user("phone1"), None, "open")]
    assert detail["owner_id"] == floor.user("phone1")  # still M1: not re-assigned

    floor.cob(dt.date(2025, 3, 20))  # the oldest unpaid due date is 33 days behind: M2
    case = floor.case_of(loan["id"])
    assert (case["bucket"], case["days_past_due"]) == ("M2", 33)
    assert case["queue_id"] == floor.queues["M2"]
    assert case["owner_id"] == floor.user("senior")
    detail = floor.manager.get(f"/collections/cases/{case['id']}").get_json()
    assert [(a["reason"], a["queue_id"], a["ended_at"] is None) for a in detail["assignments"]] == [
        ("opened", floor.queues["M1"], False),
        ("rolled", floor.queues["M2"], True),
    ]
    assert detail["assignments"][0]["actions"] == 1
    assert detail["assignments"][0]["promises_made"] == 1
    assert detail["assignments"][0]["promises_broken"] == 1
    # phone1 no longer has it among theirs
    mine = phone1.get("/collections/cases?mine=true").get_json()
    assert mine["total"] == 0

    paid = floor.desk.pay(loan["id"], case["overdue_amount"], dt.date(2025, 3, 20))
    assert paid.status_code == 201, paid.get_json()
    case = floor.case_of(loan["id"])
    assert case["status"] == "closed" and case["closed_at"] is not None
    assert Decimal(case["overdue_amount"]) == 0 and case["days_past_due"] == 0
    detail = floor.manager.get(f"/collections/cases/{case['id']}").get_json()
    assert Decimal(detail["assignments"][-1]["collected"]) == Decimal(
        detail["payments"][-1]["amount"]
    )
    assert event_names(floor.desk, case["id"]) == [
        "collection.case_opened",
        "collection.case_assigned",
        "collection.promise_made",
        "collection.promise_broken",
        "collection.case_assigned",
        "collection.case_closed",
    ]


def test_a_promise_paid_in_full_is_kept(floor: Floor) -> None:
    loan = floor.desk.book()
    floor.cob(dt.date(2025, 2, 20))
    case = floor.case_of(loan["id"])
    phone1 = floor.staff["phone1"].api
    promised = phone1.post(f"/collections/cases/{case['id']}/promises",
                           json={"amount": "300.00", "promised_on": "2025-02-28"})  # fmt: skip
    assert promised.status_code == 201
    assert floor.desk.pay(loan["id"], "300.00", dt.date(2025, 2, 20)).status_code == 201
    detail = phone1.get(f"/collections/cases/{case['id']}").get_json()
    assert [(p["status"], p["paid"]) for p in detail["promises"]] == [("kept", "300.00")]
    assert detail["status"] == "open"  # something is still overdue
    floor.cob(dt.date(2025, 3, 1))
    detail = phone1.get(f"/collections/cases/{case['id']}").get_json()
    assert [p["status"] for p in detail["promises"]] == ["kept"]  # not broken later
    assert "collection.promise_kept" in event_names(floor.desk, case["id"])


def test_an_agency_user_cannot_open_another_agencys_case(floor: Floor) -> None:
    loan = floor.desk.book()
    floor.cob(dt.date(2025, 5, 20))  # 94 days past due at once: M3+, outsourced to agency A
    case = floor.case_of(loan["id"])
    assert case["queue_id"] == floor.queues["M3"]
    assert case["agency_id"] == floor.agencies["AGA"]
    assert case["owner_id"] == floor.user("agent_a")

    agent_a, agent_b = floor.staff["agent_a"].api, floor.staff["agent_b"].api
    assert agent_a.get(f"/collections/cases/{case['id']}").status_code == 200
    assert agent_a.get("/collections/cases").get_json()["total"] == 1
    refused = agent_b.get(f"/collections/cases/{case['id']}")
    assert refused.status_code == 404
    assert set(refused.get_json()) >= {"code", "message"}
    assert agent_b.get("/collections/cases").get_json()["total"] == 0
    action = agent_b.post(f"/collections/cases/{case['id']}/actions",
                          json={"kind": "call", "outcome": "no_answer"})  # fmt: skip
    assert action.status_code == 404

    page = f"/t/{floor.desk.firm.tenant.slug}/collections/cases/{case['id']}"
    assert signed_in_as(floor.desk, "agent_a").get(page).status_code == 200
    browser_b = signed_in_as(floor.desk, "agent_b")
    assert browser_b.get(page).status_code == 404
    listing = browser_b.get(f"/t/{floor.desk.firm.tenant.slug}/collections/")
    assert listing.status_code == 200 and case["loan_number"] not in listing.get_data(as_text=True)
    # in-house staff see every case
    assert floor.staff["senior"].api.get(f"/collections/cases/{case['id']}").status_code == 200


def test_a_reversed_payment_reopens_the_case_and_takes_back_what_was_collected(
    floor: Floor,
) -> None:
    loan = floor.desk.book()
    floor.cob(dt.date(2025, 2, 20))
    case = floor.case_of(loan["id"])
    paid = floor.desk.pay(loan["id"], case["overdue_amount"], dt.date(2025, 2, 20))
    assert paid.status_code == 201, paid.get_json()
    closed = floor.manager.get(f"/collections/cases/{case['id']}").get_json()
    assert closed["status"] == "closed"
    first = closed["assignments"][0]
    assert first["ended_at"] is not None
    assert first["collected"] == case["overdue_amount"]

    reversed_ = floor.desk.api.post(
        f"/loans/{loan['id']}/payments/{paid.get_json()['id']}/reverse",
        json={"reason": "银行退回"},
    )
    assert reversed_.status_code == 200, reversed_.get_json()
    reopened = floor.manager.get(f"/collections/cases/{case['id']}").get_json()
    assert (reopened["status"], reopened["bucket"]) == ("open", "M1")
    assert reopened["overdue_amount"] == case["overdue_amount"]
    assert [(a["reason"], a["ended_at"]) for a in reopened["assignments"]] == [
        ("opened", first["ended_at"]),  # the closed stretch keeps its end
        ("reopened", None),
    ]
    assert reopened["assignments"][0]["collected"] == "0.00"  # the money came back
    assert reopened["owner_id"] == floor.user("phone2")  # round robin goes on
    names = event_names(floor.desk, case["id"])
    assert names.count("collection.case_opened") == 2 and names[-1] == "collection.case_assigned"


def test_recoveries_after_a_write_off_count_as_collected_and_close_the_case(
    floor: Floor,
) -> None:
    """A written-off loan is still collected (the borrower owes it): its case stays open, a
    recovery is counted collected by the case's collector, and recovering all the arrears
    closes the case; a reversed recovery takes it back and reopens it."""
    import uuid

    from loandesk import sdk

    loan = floor.desk.book()
    floor.cob(dt.date(2025, 2, 20))
    case = floor.case_of(loan["id"])
    with floor.desk.session() as session:
        sdk.loan_book().write_off(
            session, uuid.UUID(loan["id"]), dt.date(2025, 2, 20), reason="借款人失联"
        )
    assert floor.manager.get(f"/collections/cases/{case['id']}").get_json()["status"] == "open"
    part = floor.desk.pay(loan["id"], "300.00", dt.date(2025, 2, 20))
    assert part.status_code == 201, part.get_json()
    detail = floor.manager.get(f"/collections/cases/{case['id']}").get_json()
    assert detail["status"] == "open"
    assert detail["assignments"][0]["collected"] == "300.00"
    left = Decimal(case["overdue_amount"]) - Decimal("300.00")
    assert Decimal(detail["overdue_amount"]) == left
    rest = floor.desk.pay(loan["id"], f"{left:.2f}", dt.date(2025, 2, 20))
    assert rest.status_code == 201, rest.get_json()
    closed = floor.manager.get(f"/collections/cases/{case['id']}").get_json()
    assert closed["status"] == "closed"
    assert closed["assignments"][0]["collected"] == case["overdue_amount"]
    undone = floor.desk.api.post(
        f"/loans/{loan['id']}/payments/{rest.get_json()['id']}/reverse", json={"reason": "退票"}
    )
    assert undone.status_code == 200, undone.get_json()
    reopened = floor.manager.get(f"/collections/cases/{case['id']}").get_json()
    assert reopened["status"] == "open" and Decimal(reopened["overdue_amount"]) == left
