"""What an approval's page shows, built for one viewer: who may open it, the values submitted
(under the viewer's field permissions), the path of steps with their tasks, the timeline in
words with its files, and what the viewer may do now."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.auth.users import active_staff, display_names
from loandesk.fields.current import current_form
from loandesk.fields.registry import ENCRYPTED_KINDS, RecordType
from loandesk.fields.web import RecordView
from loandesk.fields.web import names as field_names
from loandesk.flows import actions, inbox, viewer
from loandesk.flows.engine import Run, active_step, decode, tasks_of
from loandesk.flows.files import RECORD_TYPE as FLOW_FILES  # files attached to approvals
from loandesk.flows.models import FlowAction, FlowInstance, FlowStep, FlowTask, FlowVersion
from loandesk.plugins import runtime
from loandesk.rbac.access import RecordAccess, masked
from loandesk.rbac.current import record_access
from loandesk.rbac.org import unit_names
from loandesk.storage.models import Attachment
from loandesk.web.approvals import labels

# never shown from the snapshot, whatever the grant (the snapshot holds none of them anyway)
PERSONAL_KINDS = (*ENCRYPTED_KINDS, "name")


@dataclass
class Visible:
    """An approval the viewer may open, and how they stand to it."""

    run: Run
    actor: actions.Actor
    access: RecordAccess
    record: Any  # None: the record no longer exists
    record_readable: bool


def open_approval(session: Session, instance_id: uuid.UUID, user: Any) -> Visible:
    """The approval if ``user`` takes part in it or may read its record (``flows.viewer``);
    ``NotFound`` otherwise, as if it did not exist."""
    actor = actions.Actor(user.id, user.can("flows.manage"))
    run = viewer.visible_run(session, instance_id, actor, runtime.record_type, record_access)
    access = record_access(run.instance.record_type)
    model: Any = run.record_type.model
    record = session.scalar(select(model).where(model.id == uuid.UUID(run.instance.record_id)))
    readable = record is not None and access.can_read and access.reaches(record)
    return Visible(run, actor, access, record, readable)


# ---------------------------------------------------------------- the page's parts


@dataclass
class TaskRow:
    task: FlowTask
    assignee: str
    decided_by: str | None  # when someone else (or the system) decided it


@dataclass
class PathStep:
    step: FlowStep
    tasks: list[TaskRow]
    mode: str


@dataclass
class Entry:
    action: FlowAction
    actor: str
    text: str
    node: str
    files: list[tuple[str, str]] = field(default_factory=list)  # (file name, link)


@dataclass
class Panel:
    """What the viewer may do now."""

    task: FlowTask | None = None  # their pending task: approve, reject, send back, ...
    targets: list[tuple[str, str]] = field(default_factory=list)  # where a send-back may go
    staff: list[tuple[str, str]] = field(default_factory=list)  # whom to transfer or add
    can_withdraw: bool = False
    can_comment: bool = False
    can_hand_on: bool = False  # a blocked step a flow manager may hand to someone
    returned_to_me: bool = False  # sent back to the viewer: edit the record and submit again
    waiting_turn: bool = False  # the viewer approves later in this step

    @property
    def anything(self) -> bool:
        return bool(self.task or self.can_withdraw or self.can_comment or self.can_hand_on)


@dataclass
class Approval:
    visible: Visible
    record_type: RecordType
    record_url: str | None
    submitter: str
    version: int | None
    active: FlowStep | None
    waiting_for: list[str]
    path: list[PathStep]
    entries: list[Entry]

    @property
    def instance(self) -> FlowInstance:
        return self.visible.run.instance

    @property
    def state(self) -> tuple[str, str]:
        return labels.state(self.instance.state)

    @property
    def url(self) -> str:
        return url_for("tenant.approvals.detail", instance_id=self.instance.id)


def approval(session: Session, visible: Visible) -> Approval:
    """The header, path and timeline of a visible approval."""
    run = visible.run
    instance = run.instance
    story = inbox.timeline(session, instance)
    names = _names(session, instance, story)
    nodes = {n.id: n.name or n.id for n in run.tree.walk()}
    nodes.update({s.node_id: s.node_name or s.node_id for s, _ in story.steps})
    files = _files(session, instance.id, (a.attachment_ids for a in story.actions))
    path = [
        PathStep(
            step,
            [TaskRow(t, names.get(str(t.assignee_id), "—"), _decided_by(t, names)) for t in tasks],
            str(labels.MODES.get(step.mode, step.mode)),
        )
        for step, tasks in story.steps
    ]
    entries = [
        Entry(
            a,
            names.get(str(a.actor_id), "—") if a.actor_id else "",
            labels.action(a.action, a.detail or {}, names, nodes),
            nodes.get(a.node_id or "", ""),
            [files[i] for i in a.attachment_ids or () if i in files],
        )
        for a in story.actions
    ]
    active = next((s for s, _ in story.steps if s.state == "active"), None)
    waiting = [
        r.assignee for p in path if p.step is active for r in p.tasks if r.task.state == "pending"
    ]
    declared = run.record_type
    record_url = None
    if visible.record_readable and declared.detail_endpoint:
        ident: dict[str, Any] = {f"{declared.key}_id": instance.record_id}
        record_url = url_for(declared.detail_endpoint, **ident)
    version = session.scalar(
        select(FlowVersion.number).where(FlowVersion.id == instance.version_id)
    )
    return Approval(
        visible,
        declared,
        record_url,
        names.get(str(instance.submitter_id), "—"),
        version,
        active,
        waiting,
        path,
        entries,
    )


def _decided_by(task: FlowTask, names: dict[str, str]) -> str | None:
    """Who decided a task when not its assignee: a name, "" for the system (a deadline's
    action, an or-sign decided by another), None when the assignee did or nobody yet."""
    if task.state in ("pending", "waiting") or task.decided_by_id == task.assignee_id:
        return None
    return names.get(str(task.decided_by_id), "") if task.decided_by_id else ""


def _names(session: Session, instance: FlowInstance, story: inbox.Timeline) -> dict[str, str]:
    ids: set[uuid.UUID] = {instance.submitter_id}
    for _step, tasks in story.steps:
        for task in tasks:
            ids.add(task.assignee_id)
            if task.decided_by_id:
                ids.add(task.decided_by_id)
    for entry in story.actions:
        if entry.actor_id:
            ids.add(entry.actor_id)
        for key in ("assignees", "to", "user", "users"):
            found = (entry.detail or {}).get(key)
            for value in found if isinstance(found, list) else [found]:
                try:
                    ids.add(uuid.UUID(str(value)))
                except ValueError:
                    continue  # "submitter", a node id
    return {str(k): v for k, v in display_names(session, ids).items()}


def _files(
    session: Session, instance_id: uuid.UUID, lists: Iterable[list[str]]
) -> dict[str, tuple[str, str]]:
    wanted: set[uuid.UUID] = set()
    for ids in lists:
        for ident in ids or ():
            try:
                wanted.add(uuid.UUID(str(ident)))
            except ValueError:
                continue
    if not wanted:
        return {}
    rows = session.execute(
        select(Attachment.id, Attachment.filename).where(
            Attachment.id.in_(wanted), Attachment.record_type == FLOW_FILES
        )
    )
    return {
        str(ident): (
            name,
            url_for("tenant.approvals.file", instance_id=instance_id, attachment_id=ident),
        )
        for ident, name in rows
    }


def panel(session: Session, visible: Visible) -> Panel:
    """What the viewer may do with the approval now (``flows.viewer.allowed``; the engine
    checks each again), with what the forms need to offer it."""
    run, actor = visible.run, visible.actor
    instance = run.instance
    found = Panel()
    if not actions.may_follow(session, run, actor):
        return found  # reads the record, takes no part
    allowed = viewer.allowed(session, run, actor)
    found.can_comment = allowed.comment
    found.can_withdraw = allowed.withdraw
    found.returned_to_me = instance.state == "returned" and instance.submitter_id == actor.user_id
    step = active_step(session, instance) if instance.state == "running" else None
    if step is None:
        return found
    mine = [t for t in tasks_of(session, step) if t.assignee_id == actor.user_id]
    found.task = next((t for t in mine if t.state == "pending"), None)
    found.waiting_turn = found.task is None and any(t.state == "waiting" for t in mine)
    found.can_hand_on = found.task is None and allowed.transfer
    if found.task is not None or found.can_hand_on:
        found.staff = [
            (str(u.id), u.display_name) for u in active_staff(session) if u.id != actor.user_id
        ]
    found.targets = [
        (node, name or node) for node, name in allowed.send_back if node != "submitter"
    ]
    return found


# ---------------------------------------------------------------- the values submitted


def submitted_values(session: Session, visible: Visible, locale: str) -> RecordView:
    """The values snapshot of the approval as the record's detail page would show them: with
    the record type's labels, hidden or masked as the viewer's field permissions say."""
    instance = visible.run.instance
    access = visible.access
    form = current_form(visible.run.record_type)
    typed = decode(instance.values or {}, instance.kinds or {})
    values: dict[str, Any] = {}
    for key, value in typed.items():
        if not form.has(key):
            continue  # a custom field removed since
        spec = form.field(key)
        level = access.access(key)
        if spec.kind in PERSONAL_KINDS or level == "hidden":
            continue
        if spec.read_only and spec.kind in ("select", "date", "datetime"):
            continue  # the system's status and timestamps: the record's page has them as now
        if spec.kind in ("user", "link", "org_unit") and value:
            with contextlib.suppress(ValueError):
                value = uuid.UUID(str(value))
        values[key] = masked(spec, value) if value is not None and level == "masked" else value
    view = RecordView(form=form, access=access, locale=locale, values=values)
    shown = {k: v for k, v in values.items() if access.access(k) != "masked"}
    view.names = field_names(form, [shown])
    for key, value in shown.items():
        if form.field(key).kind == "link" and value and str(value) not in view.names.get(key, {}):
            values[key] = gettext("(a record you may not see)")
    units = [v for k, v in shown.items() if form.field(k).kind == "org_unit" and v]
    if units:
        named = unit_names(session, [u for u in units if isinstance(u, uuid.UUID)])
        for key in (k for k in shown if form.field(k).kind == "org_unit"):
            view.names[key] = {str(k): v for k, v in named.items()}
    return view
