"""Staff members' WeCom userids (the mapping admins keep), and the app messages the plugin
queues for them: an approval task assigned to them (``flow.assigned``), as a card with the
application's key facts, and a to-do raised for them (``todo.created``). A staff member with a
WeCom userid gets these in WeCom besides the core's in-app notification; one without gets
nothing here."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from flask_babel import format_currency, gettext
from sqlalchemy.orm import Session

from loandesk import sdk

CHANNEL = "wecom.work"
# WeCom's member account (成员UserID): 1-64 bytes of digits, letters and "_-@.", starting
# with a digit or a letter (通讯录管理 → 创建成员, document/path/90195)
USERID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-@.]{0,63}$")
FACT = "："  # a body line "label：value" after the first blank line is one of the card's facts


KIND = sdk.StaffAccountKind(
    provider="wecom",
    field="wecom_userid",
    pattern=USERID,
    malformed=sdk.N_("Enter the account shown in WeCom's admin."),
    taken=sdk.N_("This WeCom userid is already linked to another staff member."),
    taken_by=sdk.N_("This WeCom userid is already linked to %(name)s."),
)


def userid_of(session: Session, user_id: uuid.UUID) -> str | None:
    """The staff member's WeCom userid (the core's staff mapping), or None."""
    return sdk.staff_external_id(session, KIND.provider, user_id)


def on_assigned(ctx: sdk.JobContext, event: sdk.Event) -> None:
    """An approval task for staff members: a card to each one mapped, with the application's
    key facts when the approval is of an application, linking to the approval (``flow``
    record: the instance)."""
    users = [uuid.UUID(u) for u in event.payload.get("users", ())]
    instance = str(event.payload.get("instance", ""))
    summary = (
        sdk.application_for_loan(ctx.session, event.record_id)
        if event.record_type == "application" else None
    )  # fmt: skip

    def texts() -> tuple[str, str]:
        body = gettext("An approval task was assigned to you in LoanDesk. Open it to decide.")
        if summary is not None:
            facts = [
                (gettext("Application number"), summary.number),
                (gettext("Amount"), format_currency(summary.amount, sdk.current().currency)),
                (gettext("Term (months)"), str(summary.term_months)),
            ]
            if summary.product_code:
                facts.append((gettext("Product"), summary.product_code))
            body += "\n\n" + "\n".join(f"{label}{FACT}{value}" for label, value in facts)
        return gettext("An approval is waiting for you"), body

    _queue(ctx.session, users, str(event.id), ("flow", instance), texts)


def on_todo(ctx: sdk.JobContext, event: sdk.Event) -> None:
    """A to-do for one staff member (not a role's): a card with its title."""
    assignee = event.payload.get("assignee_user_id")
    if not assignee:
        return
    title = str(event.payload.get("title", ""))
    _queue(ctx.session, [uuid.UUID(assignee)], str(event.id), ("todo", event.record_id),
           lambda: (gettext("New to-do for you"), title))  # fmt: skip


def _queue(session: Session, users: list[uuid.UUID], event_id: str, record: tuple[str, str],
           texts: Callable[[], tuple[str, str]]) -> None:  # fmt: skip
    mapped = {user_id for user_id in users if userid_of(session, user_id)}
    if not mapped:
        return
    with sdk.in_locale(sdk.current().locale or "zh_CN"):
        subject, body = texts()
    for user_id in users:
        if user_id in mapped:
            sdk.notify_staff_member(  # idempotent on the key: a redelivered event queues nothing
                session, CHANNEL, user_id, body, subject=subject,
                key=f"wecom:{event_id}:{user_id}", record=record,
            )  # fmt: skip
