"""Staff members' DingTalk userids (the mapping admins keep), and the work notifications the
plugin queues for them: an approval task assigned to them (``flow.assigned``) and a to-do
raised for them (``todo.created``). A staff member with a DingTalk userid gets these in
DingTalk besides the core's in-app notification; one without gets nothing here."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from flask import current_app, has_request_context
from flask_babel import force_locale, gettext
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_dingtalk.models import StaffAccount

CHANNEL = "dingtalk.work"
USERID = re.compile(r"^[A-Za-z0-9_\-.@$]{1,64}$")


def accounts(session: Session) -> list[dict[str, Any]]:
    """Every active staff member with their DingTalk userid (None: not mapped), by name."""
    mapped = {row.user_id: row.dingtalk_userid for row in session.scalars(select(StaffAccount))}
    return [
        {"user_id": user.id, "name": user.display_name, "dingtalk_userid": mapped.get(user.id)}
        for user in sdk.active_staff(session)
    ]


def set_account(session: Session, user_id: uuid.UUID, dingtalk_userid: str | None) -> None:
    """Map a staff member to a DingTalk userid, or unmap them with None; audited.
    ``NotFound`` for no such active staff member, ``ValidationFailed`` for a malformed
    userid."""
    if user_id not in {u.id for u in sdk.active_staff(session)}:
        raise sdk.NotFound(sdk.N_("No such staff member."))
    if dingtalk_userid is not None and not USERID.match(dingtalk_userid):
        raise sdk.ValidationFailed(
            sdk.N_("Some fields need attention."),
            errors={"dingtalk_userid": [sdk.N_("Enter the userid shown in DingTalk's admin.")]},
        )
    if dingtalk_userid is not None:
        _refuse_taken(session, user_id, dingtalk_userid)
    row = session.scalar(select(StaffAccount).where(StaffAccount.user_id == user_id))
    before = row.dingtalk_userid if row else None
    if before == dingtalk_userid:
        return
    if dingtalk_userid is None:
        session.execute(delete(StaffAccount).where(StaffAccount.user_id == user_id))
    elif row is None:
        session.add(StaffAccount(user_id=user_id, dingtalk_userid=dingtalk_userid,
                                 updated_at=sdk.utcnow()))  # fmt: skip
    else:
        row.dingtalk_userid, row.updated_at = dingtalk_userid, sdk.utcnow()
    session.flush()
    sdk.audit_record(session, "dingtalk.staff_account", "user", str(user_id),
                     {"dingtalk_userid": [before, dingtalk_userid]})  # fmt: skip


def _refuse_taken(session: Session, user_id: uuid.UUID, dingtalk_userid: str) -> None:
    """One DingTalk user is one staff member: sign-in and work notifications rely on it."""
    holder = session.scalar(
        select(StaffAccount.user_id).where(
            StaffAccount.dingtalk_userid == dingtalk_userid, StaffAccount.user_id != user_id
        )
    )
    if holder is not None:
        name = next((u.display_name for u in sdk.active_staff(session) if u.id == holder), "")
        raise sdk.ValidationFailed(
            sdk.N_("This DingTalk userid is already linked to %(name)s."),
            errors={
                "dingtalk_userid": [
                    sdk.N_("This DingTalk userid is already linked to another staff member.")
                ]
            },
            params={"name": name},
        )


def userid_of(session: Session, user_id: uuid.UUID) -> str | None:
    return session.scalar(
        select(StaffAccount.dingtalk_userid).where(StaffAccount.user_id == user_id)
    )


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
    mapped = set(session.scalars(select(StaffAccount.user_id).where(
        StaffAccount.user_id.in_(users))))  # fmt: skip
    if not mapped:
        return
    with in_locale(sdk.current().locale or "zh_CN"):
        subject, body = texts()
    for user_id in users:
        if user_id in mapped:
            sdk.notify_staff_member(  # idempotent on the key: a redelivered event queues nothing
                session, CHANNEL, user_id, body, subject=subject,
                key=f"dingtalk:{event_id}:{user_id}", record=record,
            )  # fmt: skip


@contextmanager
def in_locale(locale: str) -> Iterator[None]:
    """``force_locale`` outside a request too (jobs): Flask-Babel reads the request context."""
    with ExitStack() as stack:
        if not has_request_context():
            stack.enter_context(current_app.test_request_context())
        stack.enter_context(force_locale(locale))
        yield
