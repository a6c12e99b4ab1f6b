"""What people do with a running approval: approve, reject, send back (退回), transfer (转办),
add a signer before or after (加签), withdraw (撤回), comment, resubmit after a send-back.

Each operation locks the instance, checks that this user may do this now (the assignee of a
pending task of the active step, the submitter, …), changes the state, and writes its timeline
entry, audit event and domain event in the caller's transaction. A second person acting on a
step another has just decided gets ``Conflict`` ("already decided"), never a second decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.errors import Conflict, DomainError, Forbidden, ValidationFailed
from loandesk.flows import assignees
from loandesk.flows.engine import (
    OPEN_TASK,
    Run,
    active_step,
    close_step,
    emit,
    emit_assigned,
    enter,
    finish,
    lock,
    log,
    mark_decided,
    notify_record,
    restart,
    run_of,
    settle,
    steps_of,
    tasks_of,
)
from loandesk.flows.models import FlowCopy, FlowStep, FlowTask
from loandesk.flows.tree import Approver
from loandesk.i18n import N_

MAX_COMMENT = 2000
MAX_ATTACHMENTS = 10


@dataclass(frozen=True)
class Actor:
    """Who acts: a user, and whether they may manage flows (``flows.manage``: they may hand a
    blocked step to someone and comment on any approval)."""

    user_id: uuid.UUID
    can_manage: bool = False


@dataclass(frozen=True)
class Note:
    """What accompanies an operation: a comment and uploaded files (attachment ids)."""

    comment: str = ""
    attachment_ids: tuple[str, ...] = ()


def _begin(session: Session, instance_id: uuid.UUID, now: datetime | None) -> Run:
    from loandesk.plugins import runtime

    instance = lock(session, instance_id)
    return run_of(session, instance, runtime.record_type(instance.record_type), now)


def _checked(session: Session, actor: Actor, note: Note) -> Note:
    comment = (note.comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"comment": [N_("Use at most 2000 characters.")]},
        )
    ids = tuple(dict.fromkeys(str(i) for i in note.attachment_ids))
    if len(ids) > MAX_ATTACHMENTS:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"attachment_ids": [N_("Attach at most 10 files.")]},
        )
    if ids:
        from loandesk.storage.models import Attachment

        try:
            wanted = [uuid.UUID(i) for i in ids]
        except ValueError:
            wanted = []
        found = set(
            session.scalars(
                select(Attachment.id).where(
                    Attachment.id.in_(wanted), Attachment.uploaded_by_id == actor.user_id
                )
            )
        )
        if len(found) != len(ids):
            raise ValidationFailed(
                N_("Some fields need attention."),
                errors={"attachment_ids": [N_("Attach files you uploaded yourself.")]},
            )
    return Note(comment, ids)


def _my_task(run: Run, actor: Actor) -> tuple[FlowStep, FlowTask, list[FlowTask]]:
    """The active step and the actor's pending task in it, or why they may not act."""
    if run.instance.state != "running":
        raise Conflict(N_("This approval is already decided."))
    step = active_step(run.session, run.instance)
    if step is None:
        raise Conflict(N_("This approval is already decided."))
    tasks = tasks_of(run.session, step)
    mine = [t for t in tasks if t.assignee_id == actor.user_id]
    pending = next((t for t in mine if t.state == "pending"), None)
    if pending is not None:
        return step, pending, tasks
    if any(t.state == "waiting" for t in mine):
        raise Conflict(N_("It is not your turn to decide yet."))
    if mine or _decided_before(run, actor):
        raise Conflict(N_("This approval step was already decided."))
    raise Forbidden(N_("You are not an approver of this step."))


def _decided_before(run: Run, actor: Actor) -> bool:
    """The actor held a task of this instance that is now closed (a step decided by someone
    else a moment ago moved the instance on)."""
    found = run.session.scalar(
        select(FlowTask.id).where(
            FlowTask.instance_id == run.instance.id,
            FlowTask.assignee_id == actor.user_id,
            FlowTask.state.in_(("approved", "rejected", "cancelled")),
        )
    )
    return found is not None


def _record(run: Run, action: str, detail: Mapping[str, Any]) -> None:
    instance = run.instance
    audit.record(
        run.session,
        action,
        instance.record_type,
        instance.record_id,
        {"instance": str(instance.id), **detail},
    )


def approve(
    session: Session,
    instance_id: uuid.UUID,
    actor: Actor,
    note: Note = Note(),
    *,
    now: datetime | None = None,
) -> Run:
    return _decide(session, instance_id, actor, note, "approved", now)


def reject(
    session: Session,
    instance_id: uuid.UUID,
    actor: Actor,
    note: Note = Note(),
    *,
    now: datetime | None = None,
) -> Run:
    return _decide(session, instance_id, actor, note, "rejected", now)


def _decide(
    session: Session,
    instance_id: uuid.UUID,
    actor: Actor,
    note: Note,
    decision: str,
    now: datetime | None,
) -> Run:
    """The actor approves or rejects their pending task; the step's mode decides the rest."""
    note = _checked(session, actor, note)
    run = _begin(session, instance_id, now)
    step, task, tasks = _my_task(run, actor)
    task.state = decision
    task.decided_at = run.now
    task.decided_by_id = actor.user_id
    if decision == "approved" and task.blocks_id is not None:
        # an added-before signer approved: the one they held back may decide now
        held = next((t for t in tasks if t.id == task.blocks_id), None)
        if held is not None and held.state == "waiting":
            held.state = "pending"
            emit_assigned(run, step, [held.assignee_id])
    session.flush()
    log(
        run,
        decision,
        actor_id=actor.user_id,
        node_id=step.node_id,
        step_id=step.id,
        comment=note.comment,
        attachment_ids=note.attachment_ids,
    )
    verb = "approve" if decision == "approved" else "reject"
    _record(run, f"flow.{verb}", {"node": step.node_id})
    emit(run, f"flow.task_{decision}", {"node": step.node_id, "user": str(actor.user_id)})
    mark_decided(run)  # after the decision's own log: the record's status follows it
    settle(run, step)
    return run


def return_targets(session: Session, run: Run) -> list[FlowStep]:
    """The earlier approver nodes this instance passed (the latest visit of each), which a
    send-back may go to, in the order they were passed."""
    current = active_step(session, run.instance)
    found: dict[str, FlowStep] = {}
    for step in steps_of(session, run.instance.id):
        if step.state != "approved" or (current and step.node_id == current.node_id):
            continue
        if step.node_id in run.tree and isinstance(run.tree.node(step.node_id), Approver):
            found.pop(step.node_id, None)
            found[step.node_id] = step
    return list(found.values())


def send_back(
    session: Session,
    instance_id: uuid.UUID,
    actor: Actor,
    to: str,
    note: Note = Note(),
    *,
    now: datetime | None = None,
) -> Run:
    """Return the instance to the submitter (``to="submitter"``) or to an earlier approver
    node (its id): that node's approvers decide again, from the start of the node."""
    note = _checked(session, actor, note)
    run = _begin(session, instance_id, now)
    step, _task, tasks = _my_task(run, actor)
    targets = {s.node_id: s for s in return_targets(session, run)}
    if to != "submitter" and to not in targets:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"to": [N_("Send back to the submitter or to an earlier approver node.")]},
        )
    mark_decided(run)
    close_step(run, step, tasks, "returned")
    log(
        run,
        "sent_back",
        actor_id=actor.user_id,
        node_id=step.node_id,
        step_id=step.id,
        comment=note.comment,
        attachment_ids=note.attachment_ids,
        detail={"to": to},
    )
    _record(run, "flow.send_back", {"node": step.node_id, "to": to})
    emit(run, "flow.sent_back", {"node": step.node_id, "to": to})
    if to == "submitter":
        run.instance.state = "returned"
        run.instance.current_node = None
        session.flush()
        notify_record(run, None, "returned")
    else:
        enter(run, run.tree.node(to))
    return run


def resubmit(
    session: Session,
    instance_id: uuid.UUID,
    actor: Actor,
    values: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> Run:
    """The submitter sends a returned record back into approval (with its values now)."""
    run = _begin(session, instance_id, now)
    if run.instance.submitter_id != actor.user_id:
        raise Forbidden(N_("Only the submitter can submit this again."))
    if run.instance.state != "returned":
        raise Conflict(N_("Only an approval sent back to its submitter can be submitted again."))
    _record(run, "flow.resubmit", {})
    emit(run, "flow.resubmitted", {})
    restart(run, values, actor.user_id)
    return run


def transfer(
    session: Session,
    instance_id: uuid.UUID,
    actor: Actor,
    to_user: uuid.UUID,
    note: Note = Note(),
    *,
    now: datetime | None = None,
) -> Run:
    """Hand the actor's task to ``to_user`` (转办): from then on only they may decide it. A
    flow manager may also hand a blocked step (nobody could be assigned) to someone."""
    note = _checked(session, actor, note)
    run = _begin(session, instance_id, now)
    step = active_step(session, run.instance)
    blocked = (
        step is not None
        and run.instance.state == "running"
        and actor.can_manage
        and not any(t.state in OPEN_TASK for t in tasks_of(session, step))
    )
    if blocked:
        assert step is not None
        tasks = tasks_of(session, step)
        task = None
    else:
        step, task, tasks = _my_task(run, actor)
    _check_newcomer(session, to_user, actor, tasks)
    session.add(
        FlowTask(
            step_id=step.id,
            instance_id=run.instance.id,
            assignee_id=to_user,
            state="pending",
            position=task.position if task else 0,
            added=task.added if task else False,
            blocks_id=task.blocks_id if task else None,
            created_at=run.now,
        )
    )
    if task is not None:
        task.state = "transferred"
        task.decided_at = run.now
        task.decided_by_id = actor.user_id
    session.flush()
    log(
        run,
        "transferred",
        actor_id=actor.user_id,
        node_id=step.node_id,
        step_id=step.id,
        comment=note.comment,
        attachment_ids=note.attachment_ids,
        detail={"to": str(to_user)},
    )
    _record(run, "flow.transfer", {"node": step.node_id, "to": str(to_user)})
    emit(run, "flow.transferred", {"node": step.node_id, "to": str(to_user)})
    emit_assigned(run, step, [to_user])
    return run


def add_signer(
    session: Session,
    instance_id: uuid.UUID,
    actor: Actor,
    user_id: uuid.UUID,
    *,
    before: bool,
    note: Note = Note(),
    now: datetime | None = None,
) -> Run:
    """加签: ``user_id`` must approve too — before the actor decides (``before``), or after
    the actor, whose adding counts as their approval."""
    note = _checked(session, actor, note)
    run = _begin(session, instance_id, now)
    step, task, tasks = _my_task(run, actor)
    _check_newcomer(session, user_id, actor, tasks)
    added = FlowTask(
        step_id=step.id,
        instance_id=run.instance.id,
        assignee_id=user_id,
        state="pending",
        position=task.position,
        added=True,
        blocks_id=task.id if before else None,
        created_at=run.now,
    )
    session.add(added)
    if before:
        task.state = "waiting"
    else:
        task.state = "approved"
        task.decided_at = run.now
        task.decided_by_id = actor.user_id
        mark_decided(run)
    session.flush()
    where = "before" if before else "after"
    log(
        run,
        "signer_added",
        actor_id=actor.user_id,
        node_id=step.node_id,
        step_id=step.id,
        comment=note.comment,
        attachment_ids=note.attachment_ids,
        detail={"user": str(user_id), "where": where},
    )
    _record(run, "flow.add_signer", {"node": step.node_id, "user": str(user_id), "where": where})
    emit(run, "flow.signer_added", {"node": step.node_id, "user": str(user_id), "where": where})
    emit_assigned(run, step, [user_id])
    if not before:
        settle(run, step)
    return run


def _check_newcomer(
    session: Session, user_id: uuid.UUID, actor: Actor, tasks: Iterable[FlowTask]
) -> None:
    problem = None
    if user_id == actor.user_id:
        problem = N_("Choose someone other than yourself.")
    elif not assignees.active(session, [user_id]):
        problem = N_("This staff member does not exist or is deactivated.")
    elif any(t.assignee_id == user_id and t.state in OPEN_TASK for t in tasks):
        problem = N_("This person already approves this step.")
    if problem:
        raise ValidationFailed(N_("Some fields need attention."), errors={"user_id": [problem]})


def withdraw(
    session: Session,
    instance_id: uuid.UUID,
    actor: Actor,
    note: Note = Note(),
    *,
    now: datetime | None = None,
) -> Run:
    """The submitter takes the record back before anyone decided (撤回)."""
    note = _checked(session, actor, note)
    run = _begin(session, instance_id, now)
    instance = run.instance
    if instance.submitter_id != actor.user_id:
        raise Forbidden(N_("Only the submitter can withdraw this."))
    if instance.state != "running":
        raise Conflict(N_("This approval is already decided."))
    if instance.decided:
        raise Conflict(N_("An approver has already decided: it can no longer be withdrawn."))
    log(
        run,
        "withdrawn",
        actor_id=actor.user_id,
        comment=note.comment,
        attachment_ids=note.attachment_ids,
    )
    finish(run, "withdrawn")
    return run


def may_follow(session: Session, run: Run, actor: Actor) -> bool:
    """The submitter, anyone who holds or held a task, anyone copied, and flow managers."""
    instance = run.instance
    if actor.can_manage or instance.submitter_id == actor.user_id:
        return True
    task = session.scalar(
        select(FlowTask.id).where(
            FlowTask.instance_id == instance.id, FlowTask.assignee_id == actor.user_id
        )
    )
    if task is not None:
        return True
    copied = session.scalar(
        select(FlowCopy.id).where(
            FlowCopy.instance_id == instance.id, FlowCopy.user_id == actor.user_id
        )
    )
    return copied is not None


def comment(
    session: Session,
    instance_id: uuid.UUID,
    actor: Actor,
    note: Note,
    *,
    now: datetime | None = None,
) -> Run:
    """A comment (and files) at any step, by anyone taking part."""
    note = _checked(session, actor, note)
    if not note.comment and not note.attachment_ids:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"comment": [N_("Write a comment or attach a file.")]},
        )
    run = _begin(session, instance_id, now)
    if not may_follow(session, run, actor):
        raise Forbidden(N_("You are not taking part in this approval."))
    step = active_step(session, run.instance)
    log(
        run,
        "commented",
        actor_id=actor.user_id,
        node_id=step.node_id if step else None,
        step_id=step.id if step else None,
        comment=note.comment,
        attachment_ids=note.attachment_ids,
    )
    _record(run, "flow.comment", {})
    emit(run, "flow.commented", {"user": str(actor.user_id)})
    return run


@dataclass(frozen=True)
class BulkResult:
    instance_id: uuid.UUID
    ok: bool
    message: str = ""


def bulk_approve(
    session: Session,
    instance_ids: Iterable[uuid.UUID],
    actor: Actor,
    note: Note = Note(),
    *,
    now: datetime | None = None,
) -> list[BulkResult]:
    """Approve several at once where the node allows it; each succeeds or fails alone."""
    results = []
    for instance_id in dict.fromkeys(instance_ids):
        try:
            with session.begin_nested():
                run = _begin(session, instance_id, now)
                step = active_step(session, run.instance)
                if step is None:  # finished, or sent back to its submitter
                    raise Conflict(N_("This approval is already decided."))
                node = run.tree.node(step.node_id) if step.node_id in run.tree else None
                if not (isinstance(node, Approver) and node.bulk):
                    raise Conflict(N_("This step must be approved one by one."))
                approve(session, instance_id, actor, note, now=now)
        except DomainError as problem:
            results.append(BulkResult(instance_id, False, problem.message))
        else:
            results.append(BulkResult(instance_id, True))
    return results
