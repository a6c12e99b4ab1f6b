# ruff: noqa: F811  (fixtures imported from the flow tests are used by name)
"""The seed rule a lending firm gave: "three days before a repayment date, create a reminder
to-do for the post-loan admin". Configured through the API on installments (the ``testloans``
fixture plugin until the servicing plugins bring theirs): a loan whose installments fall due
on the 10th gets one to-do per installment on the 7th at 09:00 Beijing time, none for an
installment already paid, and none twice however often the job looks."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.helpers import ApiClient
from tests.platform.automations.conftest import run_job
from tests.platform.flows.api_helpers import ok, staff
from tests.platform.flows.conftest import Desk, at, desk  # noqa: F401
from tests.plugins.customers.conftest import add_staff

pytestmark = pytest.mark.usefixtures("testloans_distribution")

REMINDER = {
    "name": "还款日前三天提醒贷后",
    "record_type": "installment",
    "trigger": {"kind": "relative", "field": "due_date", "days": -3, "at": "09:00"},
    "condition": 'status == "due"',
    "actions": [
        {
            "type": "create_todo",
            "title": "借据 {{ loan_number }} 第 {{ period }} 期 {{ amount }} 元"
            "将于 {{ due_date }} 到期",
            "assignee": {"kind": "role", "role": "post_loan_admin"},
            "due": {"field": "due_date", "days": 0},
        }
    ],
}


@pytest.fixture
def ledger(desk: Desk, api_a: ApiClient) -> Desk:
    """The desk with the installments plugin and a post-loan admin."""
    ok(api_a.put("/plugins/testloans", json={"enabled": True}))
    desk.firm.staff["postloan"] = add_staff(
        desk.app, desk.app.test_client(), desk.firm.tenant, "postloan", ["post_loan_admin"],
        desk.firm.units["company"],
    )  # fmt: skip
    return desk


def _loan(desk: Desk, number: str, first_due: date, periods: int, paid: int = 0) -> list[str]:
    """A loan's installments due on the same day of ``periods`` months; the first ``paid``
    already paid. Their ids, in order."""
    from loandesk_testloans.models import TestInstallment

    ids = []
    with desk.session() as session:
        for period in range(1, periods + 1):
            month = first_due.month - 1 + period - 1
            due = first_due.replace(year=first_due.year + month // 12, month=month % 12 + 1)
            row = TestInstallment(
                loan_number=number,
                period=period,
                due_date=due,
                amount=Decimal("2741.67"),
                status="paid" if period <= paid else "due",
                owner_id=desk.user("officer1"),
            )
            session.add(row)
            session.flush()
            ids.append(str(row.id))
    return ids


def _look(desk: Desk, moment: str) -> int:
    from loandesk.automations import relative
    from loandesk.plugins import runtime
    from loandesk.tenancy import current

    with desk.session() as session:
        types = {t.key: t for t in runtime.record_types()}
        return relative.run(session, types, current().timezone, at(moment))


def _day(moment: datetime | None) -> date | None:
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).date() if moment else None


def _todos(desk: Desk) -> list[Any]:
    from loandesk.todos.models import Todo

    with desk.session() as session:
        return [
            (t.title, t.assignee_role, t.record_type, t.record_id, _day(t.due_at))
            for t in session.scalars(select(Todo).order_by(Todo.title))
        ]


def test_one_reminder_per_installment_on_the_seventh_at_nine(ledger: Desk) -> None:
    admin = staff(ledger, "admin", ("automations:read", "automations:write"))
    ok(admin.post("/automations", json=REMINDER), 201)
    first = _loan(ledger, "JJ2026001", date(2026, 12, 10), periods=3)
    early = _loan(ledger, "JJ2026002", date(2026, 12, 10), periods=2, paid=1)  # paid ahead
    third = _loan(ledger, "JJ2026003", date(2026, 12, 11), periods=1)  # another day

    assert _look(ledger, "2026-12-07T08:59:00") == 0  # the 7th, not yet nine
    assert _look(ledger, "2026-12-07T09:00:00") == 1  # JJ2026002's paid one: none
    assert _look(ledger, "2026-12-07T09:05:00") == 0  # the job comes again: nothing new
    run_job(ledger, "core.run_firings")
    run_job(ledger, "core.run_firings")  # run twice: still one to-do
    assert _todos(ledger) == [
        ("借据 JJ2026001 第 1 期 2741.67 元将于 2026-12-10 到期", "post_loan_admin",
         "installment", first[0], date(2026, 12, 10)),
    ]  # fmt: skip

    assert _look(ledger, "2026-12-08T09:00:00") == 1  # JJ2026003, due on the 11th
    assert _look(ledger, "2027-01-07T09:00:00") == 2  # JJ2026001-2 and JJ2026002-2
    assert _look(ledger, "2027-02-07T09:00:00") == 1  # JJ2026001-3
    run_job(ledger, "core.run_firings")
    reminders = _todos(ledger)
    assert len(reminders) == 5
    assert {r[3] for r in reminders} == {*first, early[1], *third}
    assert early[0] not in {r[3] for r in reminders}  # paid before its reminder: none
    assert [r[4] for r in reminders if r[3] in first] == [
        date(2026, 12, 10), date(2027, 1, 10), date(2027, 2, 10)
    ]  # fmt: skip


def test_the_post_loan_admin_sees_the_reminders_as_their_to_dos(ledger: Desk) -> None:
    admin = staff(ledger, "admin", ("automations:read", "automations:write"))
    ok(admin.post("/automations", json=REMINDER), 201)
    _loan(ledger, "JJ2026009", date(2026, 12, 10), periods=1)
    assert _look(ledger, "2026-12-07T09:00:00") == 1
    run_job(ledger, "core.run_firings")
    mine = staff(ledger, "postloan", ("todos:read",)).get("/todos")
    assert mine.status_code == 200, mine.get_json()
    [todo] = mine.get_json()["items"]
    assert todo["title"].startswith("借据 JJ2026009 第 1 期")
    officer = staff(ledger, "officer1", ("todos:read",)).get("/todos").get_json()
    assert officer["items"] == []  # for the role, not the installment's officer
    assert uuid.UUID(todo["id"])
