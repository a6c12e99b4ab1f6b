"""How ``/api/v1/approvals`` shows an approval: a row of a box, and one approval as its
viewer sees it (``approval_schemas``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from loandesk import extension
from loandesk.auth.users import display_names
from loandesk.db import utcnow
from loandesk.flows import files, inbox, viewer
from loandesk.flows.actions import Actor
from loandesk.flows.engine import Run
from loandesk.flows.models import FlowCopy, FlowStep, FlowVersion
from loandesk.rbac.current import record_access
from loandesk.storage.models import Attachment


def _overdue(step: FlowStep | None) -> bool:
    return bool(step and step.state == "active" and step.due_at and step.due_at <= utcnow())


def ref(user_id: uuid.UUID | None, names: dict[uuid.UUID, str]) -> dict[str, Any] | None:
    return None if user_id is None else {"id": user_id, "name": names.get(user_id, "")}


def _step_ref(step: FlowStep | None) -> dict[str, Any] | None:
    if step is None:
        return None
    return {
        "node_id": step.node_id,
        "node_name": step.node_name,
        "state": step.state,
        "due_at": step.due_at,
        "overdue": _overdue(step),
    }


def inbox_item(item: inbox.Item, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    """One row of a box (``InboxItemSchema``)."""
    instance, task = item.instance, item.task
    return {
        "id": instance.id,
        "record_type": instance.record_type,
        "record_id": instance.record_id,
        "title": instance.title,
        "state": instance.state,
        "submitter": ref(instance.submitter_id, names),
        "started_at": instance.started_at,
        "finished_at": instance.finished_at,
        "step": _step_ref(item.step),
        "task": None
        if task is None
        else {
            "id": task.id,
            "state": task.state,
            "created_at": task.created_at,
            "decided_at": task.decided_at,
        },
        "unread": None if item.copy is None else item.copy.read_at is None,
    }


def instance_view(run: Run, actor: Actor) -> dict[str, Any]:
    """The approval as ``actor`` sees it (``InstanceSchema``)."""
    session = extension.session()
    instance = run.instance
    story = inbox.timeline(session, instance)
    copies = list(
        session.scalars(
            select(FlowCopy)
            .where(FlowCopy.instance_id == instance.id)
            .order_by(FlowCopy.created_at, FlowCopy.id)
        )
    )
    people: set[uuid.UUID] = {instance.submitter_id, *(c.user_id for c in copies)}
    for _step, tasks in story.steps:
        people.update(t.assignee_id for t in tasks)
        people.update(t.decided_by_id for t in tasks if t.decided_by_id)
    people.update(a.actor_id for a in story.actions if a.actor_id)
    names = display_names(session, list(people))
    kept = _files(instance.id, [i for a in story.actions for i in a.attachment_ids or ()])
    version = session.scalar(
        select(FlowVersion.number).where(FlowVersion.id == instance.version_id)
    )
    current_name = None
    if instance.current_node and instance.current_node in run.tree:
        current_name = run.tree.node(instance.current_node).name
    may = viewer.allowed(session, run, actor)
    return {
        "id": instance.id,
        "record_type": instance.record_type,
        "record_id": instance.record_id,
        "title": instance.title,
        "state": instance.state,
        "submitter": ref(instance.submitter_id, names),
        "version": version,
        "current_node": instance.current_node,
        "current_node_name": current_name,
        "started_at": instance.started_at,
        "finished_at": instance.finished_at,
        "values": viewer.values_for(instance, record_access(instance.record_type)),
        "steps": [
            {
                "id": step.id,
                "node_id": step.node_id,
                "node_name": step.node_name,
                "mode": step.mode,
                "ratio": step.ratio,
                "state": step.state,
                "started_at": step.started_at,
                "finished_at": step.finished_at,
                "due_at": step.due_at,
                "overdue": _overdue(step),
                "tasks": [
                    {
                        "id": t.id,
                        "assignee": ref(t.assignee_id, names),
                        "state": t.state,
                        "position": t.position,
                        "added": t.added,
                        "created_at": t.created_at,
                        "decided_at": t.decided_at,
                        "decided_by": ref(t.decided_by_id, names),
                    }
                    for t in tasks
                ],
            }
            for step, tasks in story.steps
        ],
        "timeline": [
            {
                "id": a.id,
                "action": a.action,
                "actor": ref(a.actor_id, names),
                "node_id": a.node_id,
                "comment": a.comment,
                "attachments": [kept[i] for i in a.attachment_ids or () if i in kept],
                "detail": a.detail,
                "created_at": a.created_at,
            }
            for a in story.actions
        ],
        "copies": [
            {"user": ref(c.user_id, names), "node_id": c.node_id, "read_at": c.read_at}
            for c in copies
        ],
        "allowed": {
            "approve": may.approve,
            "reject": may.reject,
            "send_back": [{"to": to, "name": name} for to, name in may.send_back],
            "transfer": may.transfer,
            "add_signer": may.add_signer,
            "withdraw": may.withdraw,
            "comment": may.comment,
            "bulk": may.bulk,
        },
    }


def _files(instance_id: uuid.UUID, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The approval files among ``ids``, by id, with where to download them."""
    wanted = []
    for ident in set(ids):
        try:
            wanted.append(uuid.UUID(str(ident)))
        except ValueError:
            continue
    if not wanted:
        return {}
    rows = extension.session().scalars(
        select(Attachment).where(
            Attachment.id.in_(wanted),
            Attachment.record_type == files.RECORD_TYPE,
            Attachment.field_key == files.FIELD,
        )
    )
    return {str(row.id): file_dict(instance_id, row) for row in rows}


def file_dict(instance_id: uuid.UUID, row: Attachment) -> dict[str, Any]:
    return {
        "id": row.id,
        "filename": row.filename,
        "content_type": row.content_type,
        "size": row.size,
        "download_url": f"/api/v1/approvals/{instance_id}/attachments/{row.id}/content",
    }
