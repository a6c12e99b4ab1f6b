"""The to-do service as an automation calls it: idempotent source keys, system to-dos, who may
tick off, edit and delete, and the audit log and events every change leaves."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select

from loandesk.errors import Forbidden, NotFound, ValidationFailed
from tests.platform.todos.conftest import Office
from tests.plugins.customers.conftest import audit_events


def _events(office: Office, name: str) -> int:
    from loandesk.events import OutboxEvent

    with office.session() as session:
        return int(session.scalar(select(func.count()).where(OutboxEvent.name == name)) or 0)


def test_a_rule_creating_the_same_todo_twice_gets_the_first(office: Office) -> None:
    from loandesk.plugins import runtime
    from loandesk.todos import dates, service

    customer = office.customer_of("officer1")
    with office.session() as session:
        declared = runtime.record_type("customer")
        link = service.Link(declared, customer)
        due = dates.due_at(date(2026, 12, 4), None, "Asia/Shanghai")
        first = service.create(
            session,
            "Repayment due in 3 days",
            assignee_role="finance",
            due=due,
            link=link,
            source="rule:r1",
            source_key="rule:r1:loan-7:2026-12-07",
        )
        again = service.create(
            session,
            "Another title",
            assignee_role="collector",
            source="rule:r1",
            source_key="rule:r1:loan-7:2026-12-07",
        )
        assert again.id == first.id and again.title == "Repayment due in 3 days"
        assert first.created_by_id is None and first.due_all_day
        assert first.due_at == datetime(2026, 12, 4, 15, 59, 59, tzinfo=UTC)
        first_id = first.id
    assert len(audit_events(office.app, office.firm, "todo.create")) == 1
    assert _events(office, "todo.created") == 1
    with office.session() as session:
        mine = service.list_for(session, office.user("finance"))
        assert [t.id for t in mine.items] == [first_id]
        assert service.counts(session, office.user("finance")) == {"open": 1, "overdue": 0}
        late = datetime(2026, 12, 5, tzinfo=UTC)
        assert service.counts(session, office.user("finance"), now=late) == {
            "open": 1,
            "overdue": 1,
        }
        assert [t.id for t in service.of_record(session, "customer", customer)] == [first_id]


def test_who_may_tick_off_edit_and_delete(office: Office) -> None:
    from loandesk.todos import service

    risk = service.Actor(office.user("risk"))
    holder = service.Actor(office.user("officer2"))
    stranger = service.Actor(office.user("collector"))
    admin = service.Actor(office.user("admin"), is_admin=True)
    with office.session() as session:
        todo = service.create(
            session, "Review the file", assignee_role="credit_officer", created_by_id=risk.user_id
        )
        todo_id = todo.id
    with office.session() as session:
        with pytest.raises(NotFound):
            service.mark_done(session, todo_id, stranger)
        # the admin sees every to-do and may change it, but ticks off only their own
        with pytest.raises(Forbidden):
            service.mark_done(session, todo_id, admin)
        with pytest.raises(Forbidden):
            service.update(session, todo_id, holder, title="Mine")
        done = service.mark_done(session, todo_id, holder, now=datetime(2026, 1, 2, tzinfo=UTC))
        assert done.done_by_id == holder.user_id
        assert service.mark_done(session, todo_id, risk).done_by_id == holder.user_id  # no-op
        service.mark_undone(session, todo_id, risk)
        with pytest.raises(ValidationFailed) as refused:
            service.update(session, todo_id, admin, assignee=(None, "astronaut"))
        assert "assignee_role" in refused.value.errors
        service.update(session, todo_id, admin, note="call before noon")
        with pytest.raises(Forbidden):
            service.delete(session, todo_id, holder)
        service.delete(session, todo_id, risk)
    assert len(audit_events(office.app, office.firm, "todo.done")) == 1
    assert len(audit_events(office.app, office.firm, "todo.reopen")) == 1
    assert len(audit_events(office.app, office.firm, "todo.update")) == 1
    assert len(audit_events(office.app, office.firm, "todo.delete")) == 1
    assert _events(office, "todo.done") == 1 and _events(office, "todo.reopened") == 1


def test_a_deactivated_user_gets_no_todo(office: Office) -> None:
    from loandesk.auth.models import User
    from loandesk.todos import service

    with office.session() as session:
        user = session.scalar(select(User).where(User.id == office.user("officer3")))
        assert user is not None
        user.status = "deactivated"
    with office.session() as session:
        with pytest.raises(ValidationFailed) as refused:
            service.create(session, "x", assignee_user_id=office.user("officer3"))
        assert "assignee_user_id" in refused.value.errors


def test_due_dates_are_entered_in_the_tenants_timezone() -> None:
    from loandesk.todos import dates

    at, all_day = dates.due_at(date(2026, 12, 1), time(9, 0), "Asia/Shanghai")
    assert (at, all_day) == (datetime(2026, 12, 1, 1, 0, tzinfo=UTC), False)
    start, end = dates.day_range(date(2026, 12, 1), date(2026, 12, 1), "Asia/Shanghai")
    assert start.astimezone(UTC) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert end.astimezone(UTC) < datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
