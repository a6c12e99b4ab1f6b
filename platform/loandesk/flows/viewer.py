"""One user's view of an approval: whether they may see it at all (those taking part, and
those whose data scope reaches the record), the submitted values as their field permissions
allow, and which operations are open to them right now. Used by the API and the web pages
alike; the operations themselves check again when they run (``actions``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.errors import NotFound
from loandesk.fields.registry import RecordType
from loandesk.flows.actions import Actor, may_follow, return_targets
from loandesk.flows.engine import OPEN_TASK, Run, active_step, run_of, tasks_of
from loandesk.flows.models import FlowInstance
from loandesk.flows.tree import Approver
from loandesk.i18n import N_
from loandesk.rbac.access import RecordAccess, masked


@dataclass(frozen=True)
class Allowed:
    """What the viewer may do with the instance now. ``send_back`` lists where it may go:
    ``("submitter", "")`` first, then earlier approver nodes as (node id, node name)."""

    approve: bool = False
    reject: bool = False
    send_back: tuple[tuple[str, str], ...] = ()
    transfer: bool = False
    add_signer: bool = False
    withdraw: bool = False
    comment: bool = False
    bulk: bool = False


def find(session: Session, instance_id: uuid.UUID) -> FlowInstance:
    instance = session.scalar(select(FlowInstance).where(FlowInstance.id == instance_id))
    if instance is None:
        raise NotFound(N_("No such approval."))
    return instance


def visible_run(
    session: Session,
    instance_id: uuid.UUID,
    actor: Actor,
    record_type: Any,
    access_of: Any,
) -> Run:
    """The instance as a ``Run`` if ``actor`` may see it; ``NotFound`` otherwise, as if it did
    not exist. ``record_type(key)`` gives the enabled record type (NotFound when its plugin is
    off), ``access_of(key)`` the actor's ``RecordAccess`` to it."""
    instance = find(session, instance_id)
    try:
        declared: RecordType = record_type(instance.record_type)
    except NotFound:  # its plugin is off for the tenant: as if there were no approval
        raise NotFound(N_("No such approval.")) from None
    run = run_of(session, instance, declared, None)
    if may_follow(session, run, actor):
        return run
    access: RecordAccess = access_of(instance.record_type)
    if access.can_read:
        model: Any = declared.model
        try:
            record_id = uuid.UUID(instance.record_id)
        except ValueError:
            record_id = None
        record = session.scalar(select(model).where(model.id == record_id)) if record_id else None
        if record is not None and access.reaches(record):
            return run
    raise NotFound(N_("No such approval."))


def values_for(instance: FlowInstance, access: RecordAccess) -> dict[str, Any]:
    """The values submitted into approval as ``access`` lets its user see them: hidden fields
    left out, masked ones masked. Taking part shows the snapshot; which fields is still the
    viewer's field permissions' call."""
    shown: dict[str, Any] = {}
    plain: Mapping[str, Any] = instance.values or {}
    for key, value in plain.items():
        level = access.access(key)
        if level == "hidden":
            continue
        if value is not None and level == "masked":
            value = masked(access.record_type.field(key), value)
        shown[key] = value
    return shown


def allowed(session: Session, run: Run, actor: Actor) -> Allowed:
    """The operations open to ``actor`` on ``run``'s instance now."""
    instance = run.instance
    step = active_step(session, instance) if instance.state == "running" else None
    tasks = tasks_of(session, step) if step is not None else []
    mine = any(t.assignee_id == actor.user_id and t.state == "pending" for t in tasks)
    blocked = step is not None and not any(t.state in OPEN_TASK for t in tasks)
    targets: tuple[tuple[str, str], ...] = ()
    node = None
    if mine:
        assert step is not None
        earlier = tuple((s.node_id, s.node_name) for s in return_targets(session, run))
        targets = (("submitter", ""), *earlier)
        node = run.tree.node(step.node_id) if step.node_id in run.tree else None
    return Allowed(
        approve=mine,
        reject=mine,
        send_back=targets,
        transfer=mine or (blocked and actor.can_manage),
        add_signer=mine,
        withdraw=instance.state == "running"
        and instance.submitter_id == actor.user_id
        and not instance.decided,
        comment=may_follow(session, run, actor),
        bulk=mine and isinstance(node, Approver) and node.bulk,
    )
