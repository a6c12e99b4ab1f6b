"""What a module calls to put its records through approval (re-exported by ``loandesk.sdk``):
submit a record (starting its flow, or resuming one sent back to the submitter) and read the
approval of a record."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.fields.forms import Form
from loandesk.fields.registry import RecordType
from loandesk.flows import actions, engine
from loandesk.flows.models import FlowAction, FlowInstance


def submit_for_approval(
    session: Session,
    record_type: RecordType,
    record: Any,
    form: Form,
    values: Mapping[str, Any],
    *,
    submitter_id: uuid.UUID,
    title: str = "",
    rule: str = "",
    now: datetime | None = None,
) -> FlowInstance | None:
    """Put ``record`` (just submitted by ``submitter_id``) into approval: resume its approval
    that was sent back to the submitter, or start the published flow of its type. ``values``
    are what the form's conditions see (``current_values``). None: the tenant has published no
    flow for this record type, and the record stays submitted for people to handle.

    ``rule``: the name of the automation rule that submits the record (the system acting for
    the submitter): the timeline's first entry names the rule instead of a person.

    First the tenant's enabled plugins are asked (``loandesk_before_submit``): the risk
    plugin decides and adds ``risk_outcome``, so the flow's first condition sees it, whichever
    way the record was submitted (by staff, the API, or an automation rule)."""
    values = {**values, **_before_submit(session, record_type, record, form, values)}
    returned = latest(session, record_type.key, record.id)
    if returned is not None and returned.state == "returned":
        run = actions.resubmit(session, returned.id, actions.Actor(submitter_id), values, now=now)
        return run.instance
    instance = engine.start(
        session,
        record_type,
        record,
        submitter_id=submitter_id,
        values=values,
        kinds=form.expression_kinds,
        title=title,
        now=now,
    )
    if instance is not None and rule:
        _started_by_rule(session, instance, rule)
    return instance


def _before_submit(
    session: Session, record_type: RecordType, record: Any, form: Form, values: Mapping[str, Any]
) -> dict[str, Any]:
    """The values the tenant's enabled plugins add for the flow, merged in their order."""
    from loandesk.plugins import runtime

    added: dict[str, Any] = {}
    caller = runtime.hook("loandesk_before_submit")
    for result in caller(
        session=session, record_type=record_type, record=record, form=form, values=values
    ):
        added.update(result or {})
    return added


def _started_by_rule(session: Session, instance: FlowInstance, rule: str) -> None:
    entry = session.scalar(
        select(FlowAction).where(
            FlowAction.instance_id == instance.id, FlowAction.action == "submitted"
        )
    )
    if entry is not None:
        entry.actor_id = None
        entry.detail = {**(entry.detail or {}), "rule": rule}


def latest(session: Session, record_type: str, record_id: object) -> FlowInstance | None:
    """The record's most recent approval (None: never submitted into one)."""
    return session.scalar(
        select(FlowInstance)
        .where(FlowInstance.record_type == record_type, FlowInstance.record_id == str(record_id))
        .order_by(FlowInstance.started_at.desc(), FlowInstance.id.desc())
        .limit(1)
    )
