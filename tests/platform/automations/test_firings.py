"""Rules fire on events exactly once: a redelivered event and a second runner change
nothing; a failing action is retried with backoff, shows on the run log when it gives up, and
runs again from the retry button."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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
