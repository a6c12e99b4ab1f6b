"""Files that go with what people do on an approval (a comment with a scan, a reason for a
rejection): uploaded by someone taking part, kept as attachments of record type ``flow``
and field ``approval-comment``, then named by id in an operation's ``Note``; anyone who may
see the approval may download the files its timeline holds."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.errors import Forbidden, NotFound, ValidationFailed
from loandesk.fields import attachments
from loandesk.flows.actions import Actor, may_follow
from loandesk.flows.engine import Run
from loandesk.flows.models import FlowAction
from loandesk.i18n import N_
from loandesk.storage import Storage
from loandesk.storage.models import Attachment

RECORD_TYPE = "flow"
# not a possible field key (those are lowercase letters, digits and _): no attachment field
# of a record can ever take an approval's file as its value
FIELD = "approval-comment"


def upload(
    session: Session,
    store: Storage,
    run: Run,
    actor: Actor,
    *,
    filename: str,
    data: bytes,
    max_size: int,
) -> Attachment:
    """Keep a file ``actor`` will attach to an operation on ``run``'s instance; only those
    taking part in it may upload (403)."""
    if not may_follow(session, run, actor):
        raise Forbidden(N_("You are not taking part in this approval."))
    content_type = attachments.check_file(data, filename, max_size=max_size)
    return attachments.keep(
        session,
        store,
        filename=filename,
        data=data,
        content_type=content_type,
        uploaded_by=actor.user_id,
        record_type=RECORD_TYPE,
        field_key=FIELD,
    )


def check_ids(session: Session, ids: Iterable[str]) -> None:
    """422 unless every id names a file uploaded for approvals (not, say, a customer's ID
    photo: its field permissions would not follow it into the timeline)."""
    wanted: list[uuid.UUID] = []
    for ident in ids:
        try:
            wanted.append(uuid.UUID(str(ident)))
        except ValueError:
            wanted.append(uuid.UUID(int=0))
    if not wanted:
        return
    found = set(
        session.scalars(
            select(Attachment.id).where(
                Attachment.id.in_(wanted),
                Attachment.record_type == RECORD_TYPE,
                Attachment.field_key == FIELD,
            )
        )
    )
    if any(i not in found for i in wanted):
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"attachment_ids": [N_("Attach files uploaded for this approval.")]},
        )


def in_timeline(session: Session, instance_id: uuid.UUID) -> set[str]:
    """The ids of every file the instance's timeline names."""
    lists = session.scalars(
        select(FlowAction.attachment_ids).where(FlowAction.instance_id == instance_id)
    )
    return {str(i) for ids in lists for i in ids or ()}


def downloadable(
    session: Session, instance_id: uuid.UUID, actor: Actor, attachment_id: uuid.UUID
) -> Attachment:
    """The file if the instance's timeline names it (or ``actor`` uploaded it and has not
    used it yet); ``NotFound`` otherwise. Seeing the instance is the caller's check."""
    found = attachments.get(session, attachment_id)
    if found is None or (found.record_type, found.field_key) != (RECORD_TYPE, FIELD):
        raise NotFound(N_("No such file."))
    if str(found.id) in in_timeline(session, instance_id) or found.uploaded_by_id == actor.user_id:
        return found
    raise NotFound(N_("No such file."))
