"""Running a flow: starting an instance on the published version, entering nodes, deciding
steps by their mode and finishing with the record's status set.

Every change to an instance happens with the instance row locked (``lock``), so two people
acting at once are put in a line: the second sees what the first did ("already decided").
The record's own module learns of each state change through its record type's ``on_flow``
callback, in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loandesk import audit, events
from loandesk.db import utcnow
from loandesk.errors import Conflict, NotFound
from loandesk.fields.registry import RecordType
from loandesk.flows import assignees, workdays
from loandesk.flows.models import (
    FlowAction,
    FlowCopy,
    FlowDefinition,
    FlowInstance,
    FlowStep,
    FlowTask,
    FlowVersion,
)
from loandesk.flows.tree import Approver, Automation, Copy, End, Node, Tree, load
from loandesk.i18n import N_
from loandesk.tenancy.context import current as current_tenant
from loandesk.tenancy.context import current_id

OPEN_TASK = ("waiting", "pending")


@dataclass
class Run:
    """An instance with what acting on it needs: its version's tree and the record type."""

    session: Session
    instance: FlowInstance
    tree: Tree
    record_type: RecordType
    now: datetime

    @property
    def values(self) -> dict[str, Any]:
        return decode(self.instance.values, self.instance.kinds)


# ---------------------------------------------------------------- values snapshot


def encode(values: Mapping[str, Any], kinds: Mapping[str, str]) -> dict[str, Any]:
    """Plain JSON of the values conditions see."""
    plain: dict[str, Any] = {}
    for key in kinds:
        value = values.get(key)
        if isinstance(value, Decimal | uuid.UUID):
            value = str(value)
        elif isinstance(value, date | datetime):
            value = value.isoformat()
        elif isinstance(value, list | tuple):
            value = [str(v) for v in value]
        plain[key] = value
    return plain


def decode(plain: Mapping[str, Any], kinds: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, kind in kinds.items():
        raw = plain.get(key)
        try:
            values[key] = _typed(kind, raw)
        except (ValueError, TypeError, InvalidOperation):
            values[key] = None
    return values


def _typed(kind: str, raw: Any) -> Any:
    if raw is None:
        return None
    if kind == "integer":
        return int(raw)
    if kind in ("decimal", "money", "percent"):
        return Decimal(str(raw))
    if kind == "date":
        return date.fromisoformat(raw)
    if kind == "datetime":
        return datetime.fromisoformat(raw)
    return raw


# ---------------------------------------------------------------- loading


def published(session: Session, record_type: str) -> FlowVersion | None:
    """The version in force for ``record_type`` (None: no flow published)."""
    definition = session.scalar(
        select(FlowDefinition).where(FlowDefinition.record_type == record_type)
    )
    if definition is None or definition.published_version is None:
        return None
    return session.scalar(
        select(FlowVersion).where(
            FlowVersion.definition_id == definition.id,
            FlowVersion.number == definition.published_version,
        )
    )


def lock(session: Session, instance_id: uuid.UUID) -> FlowInstance:
    """The instance, locked until the transaction ends and read fresh from the database.

    PostgreSQL: ``SELECT ... FOR UPDATE`` (a second actor waits, then reads what the first
    committed). SQLite has no row locks and reads outside a write transaction; writing to the
    row first takes the database's write lock (waiting out another writer), so what is read
    next is already what the other committed.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(FlowInstance)
            .where(FlowInstance.tenant_id == current_id(), FlowInstance.id == instance_id)
            .values(updated_at=FlowInstance.updated_at)
            .execution_options(synchronize_session=False)
        )
    instance = session.scalar(
        select(FlowInstance)
        .where(FlowInstance.id == instance_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if instance is None:
        raise NotFound(N_("No such approval."))
    return instance


def run_of(
    session: Session, instance: FlowInstance, record_type: RecordType, now: datetime | None
) -> Run:
    version = session.scalar(select(FlowVersion).where(FlowVersion.id == instance.version_id))
    assert version is not None  # a foreign key
    return Run(session, instance, load(version.tree, instance.kinds), record_type, now or utcnow())


def steps_of(session: Session, instance_id: uuid.UUID) -> list[FlowStep]:
    return list(
        session.scalars(
            select(FlowStep)
            .where(FlowStep.instance_id == instance_id)
            .order_by(FlowStep.started_at, FlowStep.id)
            .execution_options(populate_existing=True)
        )
    )


def active_step(session: Session, instance: FlowInstance) -> FlowStep | None:
    return session.scalar(
        select(FlowStep)
        .where(FlowStep.instance_id == instance.id, FlowStep.state == "active")
        .execution_options(populate_existing=True)
    )


def tasks_of(session: Session, step: FlowStep) -> list[FlowTask]:
    return list(
        session.scalars(
            select(FlowTask)
            .where(FlowTask.step_id == step.id)
            .order_by(FlowTask.position, FlowTask.created_at, FlowTask.id)
            .execution_options(populate_existing=True)
        )
    )


# ---------------------------------------------------------------- starting


def start(
    session: Session,
    record_type: RecordType,
    record: Any,
    *,
    submitter_id: uuid.UUID,
    values: Mapping[str, Any],
    kinds: Mapping[str, str],
    title: str = "",
    now: datetime | None = None,
) -> FlowInstance | None:
    """Start the published flow of ``record_type`` for ``record`` (None when the tenant has
    published none: the record stays submitted for people to handle)."""
    version = published(session, record_type.key)
    if version is None:
        return None
    running = session.scalar(
        select(FlowInstance.id).where(
            FlowInstance.record_type == record_type.key,
            FlowInstance.record_id == str(record.id),
            FlowInstance.state.in_(("running", "returned")),
        )
    )
    if running is not None:
        raise Conflict(N_("This record is already in approval."))
    instance = FlowInstance(
        id=_new_id(),
        version_id=version.id,
        record_type=record_type.key,
        record_id=str(record.id),
        title=title[:200],
        submitter_id=submitter_id,
        state="running",
        kinds=dict(kinds),
        values=encode(values, kinds),
        decided=False,
        started_at=now or utcnow(),
    )
    session.add(instance)
    session.flush()
    run = run_of(session, instance, record_type, now)
    log(run, "submitted", actor_id=submitter_id)
    audit.record(
        session,
        "flow.start",
        record_type.key,
        record.id,
        {"instance": str(instance.id), "version": version.number},
    )
    emit(run, "flow.started", {"version": version.number})
    notify_record(run, record, "running")
    enter(run, run.tree.first())
    return instance


def restart(run: Run, values: Mapping[str, Any], submitter_id: uuid.UUID) -> None:
    """A returned instance submitted again: the path is decided afresh on the new values, on
    the version the instance started with."""
    instance = run.instance
    instance.values = encode(values, instance.kinds)
    instance.state = "running"
    instance.decided = False
    log(run, "resubmitted", actor_id=submitter_id)
    notify_record(run, None, "running")
    enter(run, run.tree.first())


def _new_id() -> uuid.UUID:
    from loandesk.db import uuid7

    return uuid7()


# ---------------------------------------------------------------- entering nodes


def enter(run: Run, node: Node | None) -> None:
    """Go through ``node`` and what follows until a node waits for people or the flow ends."""
    values = run.values
    while True:
        node = run.tree.enter(node, values)
        if node is None:
            finish(run, "approved")
            return
        if isinstance(node, End):
            finish(run, node.outcome, node_id=node.id)
            return
        if isinstance(node, Copy):
            copy(run, node, values)
        elif isinstance(node, Automation):
            automate(run, node)
            values = run.values
        elif isinstance(node, Approver) and open_step(run, node, values):
            return
        node = run.tree.after(node.id)


def open_step(run: Run, node: Approver, values: Mapping[str, Any]) -> bool:
    """Create the step of ``node`` with its tasks; False when the node is skipped."""
    session, instance = run.session, run.instance
    users = assignees.resolve(
        session, node.assignees, submitter_id=instance.submitter_id, values=values
    )
    fallback = None
    if not users:
        if node.when_empty == "skip":
            log(run, "skipped", node_id=node.id)
            return False
        if node.when_empty == "admin":
            users = assignees.admins(session)
            fallback = "admin"
    tenant = current_tenant()
    due = (
        workdays.due_at(run.now, node.deadline, tenant.timezone if tenant else "UTC", values)
        if node.deadline
        else None
    )
    step = FlowStep(
        id=_new_id(),
        instance_id=instance.id,
        node_id=node.id,
        node_name=node.name,
        mode=node.mode,
        ratio=node.ratio,
        state="active",
        started_at=run.now,
        due_at=due,
    )
    session.add(step)
    for position, user_id in enumerate(users):
        waiting = node.mode == "sequence" and position > 0
        session.add(
            FlowTask(
                id=_new_id(),
                step_id=step.id,
                instance_id=instance.id,
                assignee_id=user_id,
                state="waiting" if waiting else "pending",
                position=position,
                created_at=run.now,
            )
        )
    instance.current_node = node.id
    session.flush()
    if not users:
        log(run, "blocked", node_id=node.id, step_id=step.id)
        emit(run, "flow.blocked", {"node": node.id})
    else:
        detail: dict[str, Any] = {"assignees": [str(u) for u in users]}
        if fallback:
            detail["fallback"] = fallback
        log(run, "assigned", node_id=node.id, step_id=step.id, detail=detail)
        first = users[:1] if node.mode == "sequence" else users
        emit_assigned(run, step, first)
    return True


def copy(run: Run, node: Copy, values: Mapping[str, Any]) -> None:
    session, instance = run.session, run.instance
    users = assignees.resolve(
        session, node.assignees, submitter_id=instance.submitter_id, values=values
    )
    already = set(
        session.scalars(
            select(FlowCopy.user_id).where(
                FlowCopy.instance_id == instance.id, FlowCopy.node_id == node.id
            )
        )
    )
    for user_id in users:
        if user_id not in already:
            session.add(FlowCopy(instance_id=instance.id, node_id=node.id, user_id=user_id))
    log(run, "copied", node_id=node.id, detail={"users": [str(u) for u in users]})
    if users:
        emit(run, "flow.copied", {"node": node.id, "users": [str(u) for u in users]})


def automate(run: Run, node: Automation) -> None:
    """Set a custom field of the record (the one thing a flow's automation node does; the
    automation engine does the rest). A field removed since publishing is passed over."""
    from loandesk import pii
    from loandesk.fields.forms import published_form
    from loandesk.fields.validation import store_custom
    from loandesk.fields.values import Invalid, parse

    # the form of the record type as declared (the run may carry one with custom fields)
    form = published_form(run.session, run.record_type.with_fields(()))
    spec = next((f for f in form.custom_fields if f.key == node.field), None)
    reason = "" if spec is not None else "no such field"
    value = None
    if spec is not None and (spec.computed or spec.encrypted):
        reason = "not settable"
    elif spec is not None:
        try:
            value = parse(spec, node.value)
        except Invalid as problem:
            reason = problem.message
    if reason:
        log(run, "automation_skipped", node_id=node.id, detail={"field": node.field, "why": reason})
        return
    assert spec is not None
    record = load_record(run)
    store_custom(record, form, {spec.key: value}, pii.for_current_tenant())
    instance = run.instance
    if spec.key in instance.kinds:
        plain = dict(instance.values)
        plain.update(encode({spec.key: value}, {spec.key: spec.value_kind}))
        instance.values = plain
    log(run, "automated", node_id=node.id, detail={"field": node.field, "value": node.value})
    audit.record(
        run.session,
        "flow.automation",
        instance.record_type,
        instance.record_id,
        {"instance": str(instance.id), "node": node.id, "field": spec.key},
    )


# ---------------------------------------------------------------- deciding a step


def settle(run: Run, step: FlowStep) -> None:
    """After a task changed: activate the next signer in sequence, then approve or reject the
    step when its mode says so, and move the instance on."""
    tasks = tasks_of(run.session, step)
    base = [t for t in tasks if not t.added and t.state != "transferred"]
    added = [t for t in tasks if t.added and t.state != "transferred"]
    if step.mode == "sequence" and not any(t.state == "pending" for t in tasks):
        following = next((t for t in base if t.state == "waiting"), None)
        if following is not None and not any(t.state == "rejected" for t in tasks):
            following.state = "pending"
            emit_assigned(run, step, [following.assignee_id])
            return
    approved = sum(t.state == "approved" for t in base)
    rejected = sum(t.state == "rejected" for t in base) + sum(t.state == "rejected" for t in added)
    if step.mode == "ratio":
        needed = -(-(step.ratio or 100) * len(base) // 100)
        base_ok = approved >= needed
        base_lost = approved + sum(t.state in OPEN_TASK for t in base) < needed
        rejected_now = base_lost or any(t.state == "rejected" for t in added)
    elif step.mode == "any":
        base_ok = approved > 0
        rejected_now = rejected > 0
    else:
        base_ok = approved == len(base)
        rejected_now = rejected > 0
    if rejected_now:
        close_step(run, step, tasks, "rejected")
        finish(run, "rejected", node_id=step.node_id)
        return
    if base_ok:
        # or-sign decided, or the ratio reached: the others' tasks (and who was added before
        # them) no longer matter
        for task in base:
            if task.state in OPEN_TASK:
                cancel(task, tasks)
        if all(t.state in ("approved", "cancelled") for t in added):
            close_step(run, step, tasks, "approved")
            enter(run, run.tree.after(step.node_id) if step.node_id in run.tree else None)


def cancel(task: FlowTask, tasks: Iterable[FlowTask]) -> None:
    task.state = "cancelled"
    for other in tasks:
        if other.blocks_id == task.id and other.state in OPEN_TASK:
            other.state = "cancelled"


def close_step(run: Run, step: FlowStep, tasks: Iterable[FlowTask], state: str) -> None:
    step.state = state
    step.finished_at = run.now
    for task in tasks:
        if task.state in OPEN_TASK:
            task.state = "cancelled"
    run.session.flush()


def close_open_steps(run: Run, state: str = "cancelled") -> None:
    step = active_step(run.session, run.instance)
    if step is not None:
        close_step(run, step, tasks_of(run.session, step), state)


def finish(run: Run, outcome: str, *, node_id: str | None = None) -> None:
    """End the instance: approved, rejected or withdrawn; the record learns of it."""
    instance = run.instance
    close_open_steps(run)
    instance.state = outcome
    instance.current_node = None
    instance.finished_at = run.now
    run.session.flush()
    log(run, "finished", node_id=node_id, detail={"outcome": outcome})
    audit.record(
        run.session,
        f"flow.{outcome}" if outcome != "withdrawn" else "flow.withdraw",
        instance.record_type,
        instance.record_id,
        {"instance": str(instance.id)},
    )
    emit(run, "flow.finished", {"outcome": outcome})
    notify_record(run, None, outcome)


# ---------------------------------------------------------------- the record, the log, events


def load_record(run: Run) -> Any:
    model: Any = run.record_type.model
    record = run.session.scalar(select(model).where(model.id == uuid.UUID(run.instance.record_id)))
    if record is None:
        raise NotFound(N_("The record of this approval no longer exists."))
    return record


def mark_decided(run: Run) -> None:
    """A person acted on the instance (a decision, a send-back, a signer added with their
    approval): its submitter may no longer withdraw it, and the first time the record hears
    ``in_review`` (its review has started)."""
    if not run.instance.decided:
        run.instance.decided = True
        notify_record(run, None, "in_review")


def notify_record(run: Run, record: Any, state: str) -> None:
    callback = run.record_type.on_flow
    if callback is not None:
        callback(run.session, record if record is not None else load_record(run), state)


def log(
    run: Run,
    action: str,
    *,
    actor_id: uuid.UUID | None = None,
    node_id: str | None = None,
    step_id: uuid.UUID | None = None,
    comment: str = "",
    attachment_ids: Iterable[str] = (),
    detail: Mapping[str, Any] | None = None,
) -> FlowAction:
    entry = FlowAction(
        id=_new_id(),
        instance_id=run.instance.id,
        step_id=step_id,
        node_id=node_id,
        actor_id=actor_id,
        action=action,
        comment=comment,
        attachment_ids=list(attachment_ids),
        detail=dict(detail or {}),
        created_at=run.now,
    )
    run.session.add(entry)
    return entry


def emit(run: Run, name: str, payload: Mapping[str, Any]) -> None:
    instance = run.instance
    events.emit(
        run.session,
        name,
        instance.record_type,
        instance.record_id,
        {"instance": str(instance.id), **payload},
    )


def emit_assigned(run: Run, step: FlowStep, users: Iterable[uuid.UUID]) -> None:
    users = list(users)
    if users:
        emit(run, "flow.assigned", {"node": step.node_id, "users": [str(u) for u in users]})
