"""Each user's approvals (审批中心): "to do" (tasks waiting for their decision), "done by me"
(tasks they decided or passed on), "submitted by me", and "CC to me"; with counts for the
navigation, filters, and an instance's full timeline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from loandesk.db import utcnow
from loandesk.flows.models import FlowAction, FlowCopy, FlowInstance, FlowStep, FlowTask

Box = Literal["todo", "done", "submitted", "cc"]
BOXES: tuple[Box, ...] = ("todo", "done", "submitted", "cc")
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Filters:
    """What narrows a box: record type, instance state, words of the title (the record's
    number or name), the day it was submitted (tenant-local dates, inclusive), overdue only."""

    record_type: str | None = None
    state: str | None = None
    q: str | None = None
    submitted_from: date | None = None
    submitted_to: date | None = None
    overdue: bool = False
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class Item:
    instance: FlowInstance
    task: FlowTask | None  # the user's task (to do, done)
    step: FlowStep | None  # the step of that task, or the instance's active step
    copy: FlowCopy | None = None


@dataclass
class Page:
    items: list[Item]
    total: int
    page: int
    per_page: int
    extra: dict[str, Any] = field(default_factory=dict)


def _local_bound(day: date, timezone: str) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time(), tzinfo=ZoneInfo(timezone))


def _filtered(query: Select[Any], filters: Filters, now: datetime) -> Select[Any]:
    if filters.record_type:
        query = query.where(FlowInstance.record_type == filters.record_type)
    if filters.state:
        query = query.where(FlowInstance.state == filters.state)
    if filters.q:
        words = (
            filters.q.strip()[:100].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        )
        query = query.where(FlowInstance.title.ilike(f"%{words}%", escape="\\"))
    if filters.submitted_from:
        query = query.where(
            FlowInstance.started_at >= _local_bound(filters.submitted_from, filters.timezone)
        )
    if filters.submitted_to:
        end = _local_bound(filters.submitted_to + timedelta(days=1), filters.timezone)
        query = query.where(FlowInstance.started_at < end)
    if filters.overdue:
        query = query.where(
            FlowStep.state == "active", FlowStep.due_at.is_not(None), FlowStep.due_at <= now
        )
    return query


def box(
    session: Session,
    user_id: uuid.UUID,
    which: Box,
    filters: Filters = Filters(),
    *,
    page: int = 1,
    per_page: int = 20,
    now: datetime | None = None,
) -> Page:
    """One page of ``which`` box of ``user_id``: newest first (to do: oldest first, as a
    queue)."""
    now = now or utcnow()
    page, per_page = max(page, 1), min(max(per_page, 1), MAX_PER_PAGE)
    query: Any
    if which == "todo":
        query = (
            select(FlowInstance, FlowTask, FlowStep)
            .join(FlowTask, FlowTask.instance_id == FlowInstance.id)
            .join(FlowStep, FlowStep.id == FlowTask.step_id)
            .where(FlowTask.assignee_id == user_id, FlowTask.state == "pending")
            .order_by(FlowTask.created_at, FlowTask.id)
        )
    elif which == "done":
        query = (
            select(FlowInstance, FlowTask, FlowStep)
            .join(FlowTask, FlowTask.instance_id == FlowInstance.id)
            .join(FlowStep, FlowStep.id == FlowTask.step_id)
            .where(
                FlowTask.assignee_id == user_id,
                FlowTask.decided_by_id == user_id,
                FlowTask.state.in_(("approved", "rejected", "transferred")),
            )
            .order_by(FlowTask.decided_at.desc(), FlowTask.id.desc())
        )
    elif which == "submitted":
        query = (
            select(FlowInstance, FlowStep)
            .outerjoin(
                FlowStep,
                (FlowStep.instance_id == FlowInstance.id) & (FlowStep.state == "active"),
            )
            .where(FlowInstance.submitter_id == user_id)
            .order_by(FlowInstance.started_at.desc(), FlowInstance.id.desc())
        )
    else:
        query = (
            select(FlowInstance, FlowCopy, FlowStep)
            .join(FlowCopy, FlowCopy.instance_id == FlowInstance.id)
            .outerjoin(
                FlowStep,
                (FlowStep.instance_id == FlowInstance.id) & (FlowStep.state == "active"),
            )
            .where(FlowCopy.user_id == user_id)
            .order_by(FlowCopy.created_at.desc(), FlowCopy.id.desc())
        )
    query = _filtered(query, filters, now)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    items = []
    for row in rows:
        if which in ("todo", "done"):
            items.append(Item(row[0], row[1], row[2]))
        elif which == "submitted":
            items.append(Item(row[0], None, row[1]))
        else:
            items.append(Item(row[0], None, row[2], copy=row[1]))
    return Page(items, int(total), page, per_page)


def counts(session: Session, user_id: uuid.UUID) -> dict[str, int]:
    """What the navigation shows: tasks waiting for the user, unread CCs, and their own
    submissions still in approval."""
    todo = session.scalar(
        select(func.count(FlowTask.id)).where(
            FlowTask.assignee_id == user_id, FlowTask.state == "pending"
        )
    )
    cc = session.scalar(
        select(func.count(FlowCopy.id)).where(
            FlowCopy.user_id == user_id, FlowCopy.read_at.is_(None)
        )
    )
    running = session.scalar(
        select(func.count(FlowInstance.id)).where(
            FlowInstance.submitter_id == user_id,
            FlowInstance.state.in_(("running", "returned")),
        )
    )
    return {"todo": int(todo or 0), "cc": int(cc or 0), "submitted": int(running or 0)}


def mark_read(session: Session, instance_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """The user opened an approval they were copied on."""
    for row in session.scalars(
        select(FlowCopy).where(
            FlowCopy.instance_id == instance_id,
            FlowCopy.user_id == user_id,
            FlowCopy.read_at.is_(None),
        )
    ):
        row.read_at = utcnow()


@dataclass(frozen=True)
class Timeline:
    """An instance's whole story: its steps with their tasks, and every action in order."""

    instance: FlowInstance
    steps: list[tuple[FlowStep, list[FlowTask]]]
    actions: list[FlowAction]


def timeline(session: Session, instance: FlowInstance) -> Timeline:
    steps = list(
        session.scalars(
            select(FlowStep)
            .where(FlowStep.instance_id == instance.id)
            .order_by(FlowStep.started_at, FlowStep.id)
        )
    )
    tasks = list(
        session.scalars(
            select(FlowTask)
            .where(FlowTask.instance_id == instance.id)
            .order_by(FlowTask.position, FlowTask.created_at, FlowTask.id)
        )
    )
    actions = list(
        session.scalars(
            select(FlowAction)
            .where(FlowAction.instance_id == instance.id)
            .order_by(FlowAction.created_at, FlowAction.id)
        )
    )
    by_step: dict[uuid.UUID, list[FlowTask]] = {}
    for task in tasks:
        by_step.setdefault(task.step_id, []).append(task)
    return Timeline(instance, [(s, by_step.get(s.id, [])) for s in steps], actions)


def instances_of(session: Session, record_type: str, record_id: object) -> list[FlowInstance]:
    """Every approval of one record, newest first (a record may be submitted again after a
    rejection or withdrawal)."""
    return list(
        session.scalars(
            select(FlowInstance)
            .where(
                FlowInstance.record_type == record_type,
                FlowInstance.record_id == str(record_id),
            )
            .order_by(FlowInstance.started_at.desc(), FlowInstance.id.desc())
        )
    )
