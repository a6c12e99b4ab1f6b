"""The seed rule a lending firm gave: "three days before a repayment date, create a reminder
to-do for the post-loan admin". Configured through the automations API on the repayment
plugin's installments (还款计划) of loans booked and paid out through the repayment API: a loan
whose installments fall due on the 10th gets one to-do per installment on the 7th at 09:00
Beijing time, none for a loan repaid early in full (its schedule superseded, its own line
paid), and none twice however often the jobs look. (An installment paid before its reminder
gets none: ``test_reminders``.)"""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.platform.automations.conftest import run_job
from tests.platform.flows.api_helpers import ok, staff
from tests.platform.flows.conftest import at
from tests.plugins.customers.conftest import add_staff
from tests.plugins.repayment.conftest import Desk

REMINDER = {
    "name": "还款日前三天提醒贷后",
    "record_type": "installment",
    "trigger": {"kind": "relative", "field": "due_date", "days": -3, "at": "09:00"},
    "condition": 'status != "paid"',
    "actions": [
        {
            "type": "create_todo",
            "title": "借据 {{ loan_number }} 第 {{ number }} 期 {{ amount_due }} 元"
            "将于 {{ due_date }} 到期",
            "assignee": {"kind": "role", "role": "post_loan_admin"},
            "due": {"field": "due_date", "days": 0},
        }
    ],
}


@pytest.fixture
def ledger(desk: Desk) -> Desk:
    """The repayment desk with a post-loan admin and the seed rule saved by the admin."""
    desk.firm.staff["postloan"] = add_staff(
        desk.app, desk.app.test_client(), desk.firm.tenant, "postloan", ["post_loan_admin"],
        desk.firm.units["company"],
    )  # fmt: skip
    admin = staff(desk, "admin", ("automations:read", "automations:write"))
    ok(admin.post("/automations", json=REMINDER), 201)
    return desk


def _loan(desk: Desk, disbursed_on: dt.date) -> tuple[str, list[str], str]:
    """A loan of 12000.00 over 3 months paid out on ``disbursed_on``, through the repayment
    API: its number, its installments' ids in order, and what the first one is due (the
    schedule's own figure, principal + interest + the 10.00 fee)."""
    from loandesk_repayment.models import Installment

    loan = desk.book(disbursed_on=disbursed_on.isoformat(), periods=3)
    with desk.session() as session:
        rows = list(
            session.scalars(
                select(Installment)
                .where(Installment.loan_id == uuid.UUID(loan["id"]))
                .order_by(Installment.number)
            )
        )
        first = rows[0]
        amount = first.principal_due + first.interest_due + first.fees_due
        return str(loan["number"]), [str(r.id) for r in rows], f"{amount:.2f}"


def _look(desk: Desk, moment: str) -> int:
    from loandesk.automations import relative
    from loandesk.plugins import runtime
    from loandesk.tenancy import current

    with desk.session() as session:
        types = {t.key: t for t in runtime.record_types()}
        return relative.run(session, types, current().timezone, at(moment))


def _day(moment: datetime | None) -> dt.date | None:
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).date() if moment else None


def _todos(desk: Desk) -> list[Any]:
    from loandesk.todos.models import Todo

    with desk.session() as session:
        return [
            (t.title, t.assignee_role, t.record_type, t.record_id, _day(t.due_at))
            for t in session.scalars(select(Todo).order_by(Todo.title))
        ]


def test_one_reminder_per_installment_on_the_seventh_at_nine(ledger: Desk) -> None:
    number, first, amount = _loan(ledger, dt.date(2026, 11, 10))  # due 12-10, 01-10, 02-10
    repaid_loan = ledger.book(disbursed_on="2026-11-10", periods=3)["id"]
    path = f"/loans/{repaid_loan}/early-repayment"
    quoted = ledger.api.post(f"{path}/quote", json={"kind": "full", "repaid_on": "2026-11-20"})
    assert quoted.status_code == 200, quoted.get_json()
    total = quoted.get_json()["total"]
    early = ledger.api.post(path, json={"kind": "full", "amount": total, "repaid_on": "2026-11-20"})
    assert early.status_code == 201, early.get_json()
    _, later, _ = _loan(ledger, dt.date(2026, 11, 11))  # due on the 11th

    assert _look(ledger, "2026-12-07T08:59:00") == 0  # the 7th, not yet nine
    assert _look(ledger, "2026-12-07T09:00:00") == 1  # the loan repaid early: none
    assert _look(ledger, "2026-12-07T09:05:00") == 0  # the job comes again: nothing new
    run_job(ledger, "core.run_firings")
    run_job(ledger, "core.run_firings")  # run twice: still one to-do
    assert _todos(ledger) == [
        (f"借据 {number} 第 1 期 {amount} 元将于 2026-12-10 到期", "post_loan_admin",
         "installment", first[0], dt.date(2026, 12, 10)),
    ]  # fmt: skip

    assert _look(ledger, "2026-12-08T09:00:00") == 1  # the loan due on the 11th
    assert _look(ledger, "2027-01-07T09:00:00") == 1  # the first loan's 2nd
    assert _look(ledger, "2027-02-07T09:00:00") == 1  # the first loan's 3rd
    run_job(ledger, "core.run_firings")
    reminders = _todos(ledger)
    assert len(reminders) == 4
    assert {r[3] for r in reminders} == {*first, later[0]}
    assert {r[2] for r in reminders} == {"installment"}
    assert [r[4] for r in reminders if r[3] in first] == [
        dt.date(2026, 12, 10), dt.date(2027, 1, 10), dt.date(2027, 2, 10)
    ]  # fmt: skip


def test_the_post_loan_admin_sees_the_reminders_as_their_to_dos(ledger: Desk) -> None:
    number, _, _ = _loan(ledger, dt.date(2026, 11, 10))
    assert _look(ledger, "2026-12-07T09:00:00") == 1
    run_job(ledger, "core.run_firings")
    mine = staff(ledger, "postloan", ("todos:read",)).get("/todos")
    assert mine.status_code == 200, mine.get_json()
    [todo] = mine.get_json()["items"]
    assert todo["title"].startswith(f"借据 {number} 第 1 期")
    officer = staff(ledger, "officer1", ("todos:read",)).get("/todos").get_json()
    assert officer["items"] == []  # for the role, not the loan's officer
    assert uuid.UUID(todo["id"])
