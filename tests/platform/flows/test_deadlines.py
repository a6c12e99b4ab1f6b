"""Acceptance (issue 6, point 3): a node with a 24-working-hour deadline set on the Friday
before a public holiday expires at the right moment (clock injected) and performs its timeout
action once. Also: working days across the National Day week and its adjusted Saturday, date
fields, and each timeout action."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from loandesk.flows.tree import Deadline
from loandesk.flows.workdays import due_at, is_working_day
from tests.platform.flows.conftest import Desk, approver, at

SHANGHAI = "Asia/Shanghai"


def test_working_hours_skip_the_qingming_holiday() -> None:
    # 2026-04-03 is a Friday; 4-6 April (Saturday to Monday) is the Qingming holiday
    assert [is_working_day(date(2026, 4, d)) for d in range(3, 8)] == [
        True,
        False,
        False,
        False,
        True,
    ]
    friday = at("2026-04-03T10:00:00")
    due = due_at(friday, Deadline("working_hours", amount=24), SHANGHAI, {})
    assert due == at("2026-04-07T10:00:00")
    assert due_at(friday, Deadline("hours", amount=24), SHANGHAI, {}) == at("2026-04-04T10:00:00")


def test_working_days_count_the_adjusted_saturday_after_national_day() -> None:
    wednesday = at("2026-09-30T15:00:00")  # 1-7 October off; Saturday 10 October is worked
    assert due_at(wednesday, Deadline("working_days", amount=1), SHANGHAI, {}) == at(
        "2026-10-08T15:00:00"
    )
    assert due_at(wednesday, Deadline("working_days", amount=3), SHANGHAI, {}) == at(
        "2026-10-10T15:00:00"
    )


def test_a_date_field_deadline_is_the_end_of_that_day_in_the_tenants_zone() -> None:
    start = at("2026-05-06T09:00:00")
    deadline = Deadline("field", field="decide_by")
    assert due_at(start, deadline, SHANGHAI, {"decide_by": date(2026, 5, 8)}) == at(
        "2026-05-09T00:00:00"
    )
    assert due_at(start, deadline, SHANGHAI, {"decide_by": None}) is None


def _flow(desk: Desk, on_timeout: str, **extra: Any) -> list[dict[str, Any]]:
    return [
        approver(
            "credit",
            [desk.user("a"), desk.user("b")],
            mode="all",
            deadline={"kind": "working_hours", "amount": 24},
            on_timeout=on_timeout,
            **extra,
        ),
        approver("risk", [desk.user("risk")]),
    ]


def _submit_at(desk: Desk, when: datetime) -> tuple[str, uuid.UUID]:
    """A draft application submitted into approval at ``when`` (the clock injected)."""
    from loandesk_intake.models import Application
    from loandesk_intake.service import values_of

    from loandesk.fields.forms import published_form
    from loandesk.flows.service import submit_for_approval
    from loandesk.plugins import runtime

    api = desk.firm.staff["officer1"].api
    body = {"customer_id": desk.customer, "amount": "80000.00", "term_months": 12}
    application_id = api.post("/applications", json=body).get_json()["id"]
    with desk.session() as session:
        application = session.scalar(
            select(Application).where(Application.id == uuid.UUID(application_id))
        )
        form = published_form(session, runtime.record_type("application"))
        instance = submit_for_approval(
            session,
            form.record_type,
            application,
            form,
            values_of(application, form),
            submitter_id=desk.user("officer1"),
            title=application.number,
            now=when,
        )
        assert instance is not None
        return application_id, instance.id


def _run(desk: Desk, now: datetime) -> int:
    from loandesk.flows import deadlines

    with desk.session() as session:
        return deadlines.run_due(session, now)


def test_the_deadline_expires_after_the_holiday_and_acts_once(desk: Desk) -> None:
    desk.publish(_flow(desk, "approve"))
    application, instance = _submit_at(desk, at("2026-04-03T10:00:00"))
    desk.act("approve", "a", instance, now=at("2026-04-03T11:00:00"))

    for moment in ("2026-04-04T10:00:00", "2026-04-06T23:59:00", "2026-04-07T09:59:59"):
        assert _run(desk, at(moment)) == 0, moment
    assert desk.pending(instance) == ("credit", {"b"})

    assert _run(desk, at("2026-04-07T10:00:00")) == 1
    # auto-approved in B's place: the next node is reached, once
    assert desk.pending(instance) == ("risk", {"risk"})
    assert _run(desk, at("2026-04-07T10:00:30")) == 0
    assert _run(desk, at("2026-04-08T10:00:00")) == 0
    assert desk.timeline(instance).count("timed_out") == 1
    assert desk.status(application) == "in_review"  # A approved by hand


def test_remind_keeps_the_step_and_reminds_once(desk: Desk) -> None:
    from loandesk.events import OutboxEvent

    desk.publish(_flow(desk, "remind"))
    application, instance = _submit_at(desk, at("2026-04-03T10:00:00"))
    assert _run(desk, at("2026-04-07T10:00:00")) == 1
    assert _run(desk, at("2026-04-07T11:00:00")) == 0
    assert desk.pending(instance) == ("credit", {"a", "b"})
    with desk.session() as session:
        overdue = list(
            session.scalars(
                select(OutboxEvent.payload).where(
                    OutboxEvent.name == "flow.overdue", OutboxEvent.record_id == application
                )
            )
        )
    assert len(overdue) == 1
    assert set(overdue[0]["users"]) == {str(desk.user("a")), str(desk.user("b"))}


def test_auto_reject_and_transfer_on_timeout(desk: Desk) -> None:
    desk.publish(_flow(desk, "reject"))
    rejected, instance = _submit_at(desk, at("2026-04-03T10:00:00"))
    assert _run(desk, at("2026-04-07T10:00:00")) == 1
    assert desk.status(rejected) == "rejected"

    desk.publish(_flow(desk, "transfer", timeout_user=str(desk.user("officer3"))))
    _application, instance = _submit_at(desk, at("2026-04-03T10:00:00"))
    assert _run(desk, at("2026-04-07T10:00:00")) == 1
    assert desk.pending(instance) == ("credit", {"officer3"})
    desk.act("approve", "officer3", instance, now=at("2026-04-07T10:05:00"))
    assert desk.pending(instance) == ("risk", {"risk"})


def test_the_deadline_job_is_scheduled_every_minute_for_each_tenant(desk: Desk) -> None:
    from loandesk.jobs.runtime import jobs

    with desk.app.app_context():
        schedules = {s.name: s for _plugin, s in jobs().schedules}
    assert schedules["core.flow_deadlines"].cron == "* * * * *"
    assert schedules["core.flow_deadlines"].per_tenant
    assert schedules["core.flow_deadlines"].job == "core.flow_deadlines"


def test_the_scheduled_job_performs_a_passed_deadline_once(desk: Desk) -> None:
    from loandesk.jobs.runtime import execute

    desk.publish(_flow(desk, "approve"))
    _application, instance = _submit_at(desk, at("2026-04-03T10:00:00"))  # long past now
    for attempt in (1, 2):
        execute(
            desk.app,
            f"deadlines-{attempt}",
            "core.flow_deadlines",
            uuid.UUID(desk.firm.tenant.id),
            (),
            1,
            lambda done, total: None,
        )
    assert desk.pending(instance) == ("risk", {"risk"})
    assert desk.timeline(instance).count("timed_out") == 1
