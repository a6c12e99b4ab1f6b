"""Acceptance (issue 6, point 2): send back from the risk manager to A, A approves again, and
the countersign with B resumes correctly; transfer and add-signer change who may act, and
nobody else can. Also: send back to the submitter and resubmit, withdraw, comments, and that
each operation is audited and emits an event."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from loandesk.errors import Conflict, Forbidden, ValidationFailed
from loandesk.flows.actions import Note
from tests.platform.flows.conftest import Desk
from tests.platform.flows.test_policy import policy


def test_send_back_to_the_countersign_node_then_both_approve_again(desk: Desk) -> None:
    desk.publish(policy(desk))
    application, instance = desk.submit("80000")
    desk.act("approve", "a", instance)
    desk.act("approve", "b", instance)
    assert desk.pending(instance) == ("risk", {"risk"})

    state = desk.act("send_back", "risk", instance, "credit_and", Note("补充收入证明后重审"))
    assert state == "running"
    assert desk.status(application) == "in_review"  # sent back to a node, not to the submitter
    # the countersign starts over: both officers decide again, the risk manager waits
    assert desk.pending(instance) == ("credit_and", {"a", "b"})
    with pytest.raises(Conflict):
        desk.act("approve", "risk", instance)
    desk.act("approve", "a", instance)
    assert desk.pending(instance) == ("credit_and", {"b"})
    with pytest.raises(Conflict):  # A's part of this visit is done
        desk.act("approve", "a", instance)
    desk.act("approve", "b", instance)
    assert desk.pending(instance) == ("risk", {"risk"})
    assert desk.act("approve", "risk", instance) == "approved"
    assert desk.status(application) == "approved"
    assert desk.timeline(instance).count("sent_back") == 1


def test_send_back_only_to_an_earlier_node(desk: Desk) -> None:
    desk.publish(policy(desk))
    _application, instance = desk.submit("80000")
    with pytest.raises(ValidationFailed) as refused:  # nothing before the first node
        desk.act("send_back", "a", instance, "credit_and")
    assert "to" in refused.value.errors
    desk.act("approve", "a", instance)
    desk.act("approve", "b", instance)
    with pytest.raises(ValidationFailed):
        desk.act("send_back", "risk", instance, "credit_or")  # a node this path never took


def test_send_back_to_the_submitter_who_edits_and_resubmits(desk: Desk) -> None:
    desk.publish(policy(desk))
    application, instance = desk.submit("80000")
    desk.act("approve", "a", instance)
    assert desk.act("send_back", "b", instance, "submitter", Note("金额过高")) == "returned"
    assert desk.status(application) == "returned"
    assert desk.pending(instance) == (None, set())
    officer = desk.firm.staff["officer1"].api
    # sent back: the submitter may change it (to 30,000: now the or-sign path) and resubmit
    changed = officer.patch(f"/applications/{application}", json={"amount": "30000.00"})
    assert changed.status_code == 200, changed.get_json()
    assert officer.post(f"/applications/{application}/submit").status_code == 200
    assert desk.instance_of(application) == instance  # the same approval, resumed
    assert desk.status(application) == "submitted"
    assert desk.pending(instance) == ("credit_or", {"a", "b"})
    assert desk.act("approve", "a", instance) == "approved"


def test_transfer_hands_the_task_over_and_nobody_else_can_act(desk: Desk) -> None:
    desk.publish(policy(desk))
    _application, instance = desk.submit("80000")
    desk.act("transfer", "a", instance, desk.user("officer2"), Note("休假，转同组"))
    assert desk.pending(instance) == ("credit_and", {"officer2", "b"})
    with pytest.raises(Conflict):  # A handed it over
        desk.act("approve", "a", instance)
    with pytest.raises(Forbidden):  # never an approver here
        desk.act("approve", "officer3", instance)
    with pytest.raises(ValidationFailed):  # B already approves this step
        desk.act("transfer", "officer2", instance, desk.user("b"))
    desk.act("approve", "officer2", instance)
    desk.act("approve", "b", instance)
    assert desk.pending(instance) == ("risk", {"risk"})


def test_add_signer_before_holds_the_adder_back_until_they_approve(desk: Desk) -> None:
    desk.publish(policy(desk))
    _application, instance = desk.submit("80000")
    desk.act("approve", "a", instance)
    desk.act("approve", "b", instance)
    desk.act("add_signer", "risk", instance, desk.user("officer3"), before=True)
    assert desk.pending(instance) == ("risk", {"officer3"})
    with pytest.raises(Conflict):  # not the risk manager's turn until officer3 approves
        desk.act("approve", "risk", instance)
    with pytest.raises(Forbidden):
        desk.act("approve", "officer2", instance)
    assert desk.act("approve", "officer3", instance) == "running"
    assert desk.pending(instance) == ("risk", {"risk"})
    assert desk.act("approve", "risk", instance) == "approved"


def test_add_signer_after_needs_the_added_signer_too(desk: Desk) -> None:
    desk.publish(policy(desk))
    application, instance = desk.submit("20000")
    # A approves and adds officer2 after: the or-sign is decided for B, but officer2 must sign
    desk.act("add_signer", "a", instance, desk.user("officer2"), before=False)
    assert desk.pending(instance) == ("credit_or", {"officer2"})
    with pytest.raises(Conflict):
        desk.act("approve", "b", instance)
    assert desk.status(application) == "in_review"
    assert desk.act("reject", "officer2", instance) == "rejected"
    assert desk.status(application) == "rejected"


def test_withdraw_only_by_the_submitter_before_the_first_decision(desk: Desk) -> None:
    desk.publish(policy(desk))
    application, instance = desk.submit("80000")
    with pytest.raises(Forbidden):
        desk.act("withdraw", "a", instance)
    assert desk.act("withdraw", "officer1", instance) == "withdrawn"
    assert desk.status(application) == "withdrawn"
    with pytest.raises(Conflict):
        desk.act("approve", "a", instance)

    application, instance = desk.submit("80000")
    desk.act("approve", "a", instance)
    with pytest.raises(Conflict):
        desk.act("withdraw", "officer1", instance)


def test_comments_by_participants_are_audited_and_emit_events(desk: Desk) -> None:
    from loandesk.audit.models import AuditEvent
    from loandesk.events import OutboxEvent

    desk.publish(policy(desk))
    application, instance = desk.submit("80000")
    desk.act("comment", "officer1", instance, Note("客户补充了流水"))
    desk.act("comment", "a", instance, Note("已核实"))
    with pytest.raises(Forbidden):
        desk.act("comment", "officer3", instance, Note("路过"))
    with pytest.raises(ValidationFailed):
        desk.act("comment", "a", instance, Note(""))
    desk.act("approve", "a", instance, Note("同意"))
    with desk.session() as session:
        audited = list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.record_id == application)
                .order_by(AuditEvent.seq)
            )
        )
        emitted = list(
            session.scalars(
                select(OutboxEvent.name)
                .where(OutboxEvent.record_id == application)
                .order_by(OutboxEvent.id)
            )
        )
    assert audited[:3] == ["application.create", "application.submit", "flow.start"]
    # the first decision puts the application in review
    assert audited[-4:] == ["flow.comment", "flow.comment", "flow.approve", "application.status"]
    assert emitted.count("flow.commented") == 2
    assert "flow.task_approved" in emitted and "flow.started" in emitted
    assert desk.timeline(instance)[-3:] == ["commented", "commented", "approved"]
