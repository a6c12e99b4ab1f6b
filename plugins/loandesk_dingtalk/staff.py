"""Staff members' DingTalk userids (the mapping admins keep), and the work notifications the
plugin queues for them: an approval task assigned to them (``flow.assigned``) and a to-do
raised for them (``todo.created``). A staff member with a DingTalk userid gets these in
DingTalk besides the core's in-app notification; one without gets nothing here."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask_babel import gettext
from sqlalchemy.orm import Session

from loandesk import sdk

CHANNEL = "dingtalk.work"
USERID = re.compile(r"^[A-Za-z0-9_\-.@$]{1,64}$")


KIND = sdk.StaffAccountKind(
    provider="dingtalk",
    field="dingtalk_userid",
    pattern=USERID,
    malformed=sdk.N_("Enter the userid shown in DingTalk's admin."),
    taken=sdk.N_("This DingTalk userid is already linked to another staff member."),
    taken_by=sdk.N_("This DingTalk userid is already linked to %(name)s."),
)


def userid_of(session: Session, user_id: uuid.UUID) -> str | None:
    """The staff member's DingTalk userid (the core's staff mapping), or None."""
    return sdk.staff_external_id(session, KIND.provider, user_id)


def on_assigned(ctx: sdk.JobContext, event: sdk.Event) -> None:
    """An approval task for staff members: a work notification to each one mapped, linking to
    the approval (``flow`` record: the instance)."""
    users = [uuid.UUID(u) for u in event.payload.get("users", ())]
    instance = str(event.payload.get("instance", ""))
    _queue(ctx.session, users, str(event.id), ("flow", instance), lambda: (
        gettext("An approval is waiting for you"),
        gettext("An approval task was assigned to you in LoanDesk. Open it to decide."),
    ))  # fmt: skip


def on_todo(ctx: sdk.JobContext, event: sdk.Event) -> None:
    """A to-do for one staff member (not a role's): a work notification with its title."""
    assignee = event.payload.get("assignee_user_id")
    if not assignee:
        return
    title = str(event.payload.get("title", ""))
    _queue(ctx.session, [uuid.UUID(assignee)], str(event.id), ("todo", event.record_id),
           lambda: (gettext("New to-do for you"), title))  # fmt: skip


def _queue(session: Session, users: list[uuid.UUID], event_id: str,
           record: tuple[str, str], texts: Any) -> None:  # fmt: skip
    mapped = {user_id for user_id in users if userid_of(session, user_id)}
    if not mapped:
        return
    with sdk.in_locale(sdk.current().locale or "zh_CN"):
        subject, body = texts()
    for user_id in users:
        if user_id in mapped:
            sdk.notify_staff_member(  # idempotent on the key: a redelivered event queues nothing
                session, CHANNEL, user_id, body, subject=subject,
                key=f"dingtalk:{event_id}:{user_id}", record=record,
            )  # fmt: skip
