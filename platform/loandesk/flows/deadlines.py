"""Deadlines of approver steps: a periodic job finds steps whose deadline has passed and
performs their node's timeout action once — remind the approvers, approve or reject in their
place, or transfer their tasks. A step is claimed by setting ``timed_out_at`` with its
instance locked, so two runs at once (or a retried job) never act twice."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.db import utcnow
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
    run_of,
    tasks_of,
)
from loandesk.flows.models import FlowStep, FlowTask
from loandesk.flows.tree import Approver

BATCH = 200


def due_steps(session: Session, now: datetime, limit: int = BATCH) -> list[FlowStep]:
    return list(
        session.scalars(
            select(FlowStep)
            .where(
                FlowStep.state == "active",
                FlowStep.due_at.is_not(None),
                FlowStep.due_at <= now,
                FlowStep.timed_out_at.is_(None),
            )
            .order_by(FlowStep.due_at)
            .limit(limit)
        )
    )


def run_due(session: Session, now: datetime | None = None) -> int:
    """Perform the timeout action of every step due at ``now`` (current tenant); returns how
    many were acted on. Commits after each step."""
    from loandesk.plugins import runtime

    now = now or utcnow()
    done = 0
    for step_id, instance_id in [(s.id, s.instance_id) for s in due_steps(session, now)]:
        instance = lock(session, instance_id)
        step = active_step(session, instance)
        if step is None or step.id != step_id or step.timed_out_at is not None:
            session.rollback()  # decided meanwhile, or another run got there first
            continue
        run = run_of(session, instance, runtime.record_type(instance.record_type), now)
        node = run.tree.node(step.node_id) if step.node_id in run.tree else None
        action = node.on_timeout if isinstance(node, Approver) else "remind"
        step.timed_out_at = now
        time_out(run, step, action, node.timeout_user if isinstance(node, Approver) else None)
        session.commit()
        done += 1
    return done


def time_out(run: Run, step: FlowStep, action: str, timeout_user: uuid.UUID | None) -> None:
    session = run.session
    tasks = tasks_of(session, step)
    open_tasks = [t for t in tasks if t.state == "pending"]
    waiting_users = [t.assignee_id for t in open_tasks]
    log(run, "timed_out", node_id=step.node_id, step_id=step.id, detail={"action": action})
    audit.record(
        session,
        "flow.timeout",
        run.instance.record_type,
        run.instance.record_id,
        {"instance": str(run.instance.id), "node": step.node_id, "action": action},
    )
    emit(
        run,
        "flow.overdue",
        {"node": step.node_id, "action": action, "users": [str(u) for u in waiting_users]},
    )
    if action == "approve":
        for task in tasks:
            if task.state in OPEN_TASK:
                task.state = "approved"
                task.decided_at = run.now
        close_step(run, step, tasks, "approved")
        enter(run, run.tree.after(step.node_id) if step.node_id in run.tree else None)
    elif action == "reject":
        close_step(run, step, tasks, "rejected")
        finish(run, "rejected", node_id=step.node_id)
    elif action == "transfer" and timeout_user is not None:
        if timeout_user in [t.assignee_id for t in tasks if t.state in OPEN_TASK]:
            return
        first = open_tasks[0] if open_tasks else None
        for task in open_tasks:
            task.state = "transferred"
            task.decided_at = run.now
        session.add(
            FlowTask(
                step_id=step.id,
                instance_id=run.instance.id,
                assignee_id=timeout_user,
                state="pending",
                position=first.position if first else 0,
                created_at=run.now,
            )
        )
        session.flush()
        emit_assigned(run, step, [timeout_user])
