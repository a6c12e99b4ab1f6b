"""Rules fire on events exactly once: a redelivered event and a second runner change
nothing; a failing action is retried with backoff, shows on the run log when it gives up, and
runs again from the retry button."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.platform.automations.conftest import deliver_and_run, run_job, save_rule
from tests.platform.flows.conftest import Desk

RULE = {
    "name": "批准后进入签约",
    "trigger": {"kind": "event", "event": "application.approved"},
    "condition": "amount >= 10000",
    "actions": [{"type": "set_field", "field": "stage", "value": "signing"}],
}


def _stage(desk: Desk, application: str) -> Any:
    body = desk.firm.staff["officer1"].api.get(f"/applications/{application}").get_json()
    return body["stage"]


def _firings(desk: Desk) -> list[Any]:
    from loandesk.automations.models import RuleFiring

    with desk.session() as session:
        return [
            (f.record_id, f.state, f.next_action, f.attempts, f.last_error)
            for f in session.scalars(select(RuleFiring).order_by(RuleFiring.created_at))
        ]


def test_an_approval_sets_the_stage_once(shop: Desk) -> None:
    from loandesk.audit.models import AuditEvent
    from loandesk.events import OutboxEvent

    save_rule(shop, RULE)
    small, small_instance = shop.submit("5000")  # the condition does not hold
    large, large_instance = shop.submit("80000")
    shop.act("approve", "a", small_instance)
    shop.act("approve", "a", large_instance)
    deliver_and_run(shop)
    assert _stage(shop, large) == "signing"
    assert _stage(shop, small) is None
    assert _firings(shop) == [(large, "done", 1, 0, "")]

    # the approval event delivered again, and the runner run again: nothing happens twice
    with shop.session() as session:
        for event in session.scalars(
            select(OutboxEvent).where(OutboxEvent.name == "application.approved")
        ):
            event.delivered_at = None
    deliver_and_run(shop)
    run_job(shop, "core.run_firings")
    assert _firings(shop) == [(large, "done", 1, 0, "")]
    with shop.session() as session:
        changes = session.scalars(
            select(AuditEvent.diff).where(
                AuditEvent.action == "application.update", AuditEvent.record_id == large
            )
        ).all()
    assert len(changes) == 1 and changes[0]["stage"] == [None, "signing"]


def test_a_failing_action_is_retried_then_logged_then_retried_by_hand(
    shop: Desk, api_a: Any
) -> None:
    from loandesk.automations import engine
    from loandesk.automations.models import RuleFiring
    from loandesk.db import utcnow
    from loandesk.plugins import runtime

    save_rule(shop, RULE)
    # the field goes from the form after the rule was saved: setting it fails
    assert api_a.delete("/record-types/application/fields/stage").status_code == 204
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    application, instance = shop.submit("80000")
    shop.act("approve", "a", instance)
    deliver_and_run(shop)
    [(_record, state, done, attempts, error)] = _firings(shop)
    assert (state, done, attempts) == ("pending", 0, 1)
    assert "can no longer be set" in error

    def run_at(moment: Any) -> int:
        with shop.session() as session:
            types = {t.key: t for t in runtime.record_types()}
            return engine.run_pending(session, types, runtime.automation_actions(), now=moment)

    start = utcnow()
    assert run_at(start + timedelta(seconds=10)) == 0  # backing off: not due yet
    assert _firings(shop)[0][3] == 1
    for attempt in range(2, engine.MAX_ATTEMPTS + 1):
        run_at(start + timedelta(days=attempt))
    [(_record, state, _done, attempts, error)] = _firings(shop)
    assert (state, attempts) == ("failed", engine.MAX_ATTEMPTS)
    assert run_at(start + timedelta(days=30)) == 0  # given up: the log shows it

    # the field comes back; the run log's retry runs it again, from the failed action
    assert api_a.post("/record-types/application/fields/stage/restore").status_code == 200
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    with shop.session() as session:
        firing = session.scalar(select(RuleFiring))
        assert firing is not None
        engine.retry(session, firing.id)
    run_job(shop, "core.run_firings")
    assert _firings(shop)[0][1:3] == ("done", 1)
    assert _stage(shop, application) == "signing"


def test_two_runners_claim_a_firing_once(shop: Desk) -> None:
    from loandesk.automations import engine
    from loandesk.automations.models import RuleFiring
    from loandesk.db import utcnow

    save_rule(shop, RULE)
    _application, instance = shop.submit("80000")
    shop.act("approve", "a", instance)
    run_job(shop, "core.deliver_events")  # firings recorded, not yet run
    with shop.session() as first:
        firing_id = first.scalar(select(RuleFiring.id))
        assert firing_id is not None
        now = utcnow()
        assert engine.claim(first, firing_id, now) is True
    with shop.session() as second:
        assert engine.claim(second, firing_id, now) is False  # the first holds it
        assert engine.due(second, now) == []
    with shop.session() as later:  # a runner that died: its claim runs out
        assert engine.claim(later, firing_id, now + engine.CLAIM) is True


TODO_RULE = {
    "name": "批准后提醒签约",
    "trigger": {"kind": "event", "event": "application.approved"},
    "actions": [
        {
            "type": "create_todo",
            "title": "{{ title }} 已批准：联系客户签约（{{ amount }} 元）",
            "assignee": {"kind": "role", "role": "post_loan_admin"},
            "due": {"days": 1, "at": "18:00"},
        },
        {
            "type": "create_todo",
            "title": "确认 {{ title }} 的放款资料",
            "assignee": {"kind": "owner"},
        },
    ],
}


def test_an_approval_creates_its_to_dos_once(shop: Desk) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from loandesk.todos.models import Todo

    save_rule(shop, TODO_RULE)
    application, instance = shop.submit("80000")
    shop.act("approve", "a", instance)
    deliver_and_run(shop)
    run_job(shop, "core.run_firings")
    with shop.session() as session:
        todos = list(session.scalars(select(Todo).order_by(Todo.created_at, Todo.title)))
        number = (
            shop.firm.staff["officer1"].api.get(f"/applications/{application}").get_json()["number"]
        )
        rows = [
            (t.title, t.assignee_role, t.assignee_user_id, t.record_id, t.source_key is not None)
            for t in todos
        ]
        due = todos[0].due_at
    assert rows == [
        (
            f"{number} 已批准：联系客户签约（80000.00 元）",
            "post_loan_admin",
            None,
            application,
            True,
        ),
        (f"确认 {number} 的放款资料", None, shop.user("officer1"), application, True),
    ]
    local = due.astimezone(ZoneInfo("Asia/Shanghai"))
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert (local.date() - today).days == 1 and (local.hour, local.minute) == (18, 0)


def test_a_to_do_template_naming_a_missing_field_is_refused(shop: Desk) -> None:
    import pytest

    from loandesk.errors import ValidationFailed

    bad = {**TODO_RULE, "actions": [{**TODO_RULE["actions"][0], "title": "{{ nmae }} 签约"}]}
    with pytest.raises(ValidationFailed) as refused:
        save_rule(shop, bad)
    assert refused.value.errors == {
        "actions.0.title": ["The template names nmae, which are not fields of this record."]
    }


def test_a_field_changed_to_a_value(shop: Desk) -> None:
    """``application.updated`` with ``field`` and a condition: "when stage becomes signing"
    — not when another field changes, not when stage changes to something else."""
    from loandesk.todos.models import Todo

    save_rule(shop, {
        "name": "进入签约阶段提醒",
        "trigger": {"kind": "event", "event": "application.updated", "field": "stage"},
        "condition": 'stage == "signing"',
        "actions": [{"type": "create_todo", "title": "准备合同：{{ title }}",
                     "assignee": {"kind": "owner"}}],
    })  # fmt: skip
    api = shop.firm.staff["officer1"].api
    body = {"customer_id": shop.customer, "amount": "60000", "term_months": 12}
    application = api.post("/applications", json=body).get_json()["id"]

    def change(**values: Any) -> None:
        answer = api.patch(f"/applications/{application}", json=values)
        assert answer.status_code == 200, answer.get_json()
        deliver_and_run(shop)

    def todos() -> int:
        with shop.session() as session:
            return len(session.scalars(select(Todo)).all())

    change(stage="review")  # stage changed, to something else
    assert todos() == 0
    change(stage="signing")
    assert todos() == 1
    change(amount="65000")  # stage still "signing", but it is not what changed
    assert todos() == 1


def test_the_changed_field_must_be_a_field_of_the_form(shop: Desk) -> None:
    from loandesk.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        save_rule(shop, {
            "name": "x",
            "trigger": {"kind": "event", "event": "application.updated", "field": "nope"},
            "actions": [{"type": "set_field", "field": "stage", "value": "signing"}],
        })  # fmt: skip
    assert refused.value.errors == {"trigger.field": ["Choose a field of the form."]}
