"""The approvals of the people who take part in them (审批): the inbox with its boxes (to do,
done by me, submitted by me, CC to me), an approval's page with everything that happened and
what the viewer may do now, and a record's approval on the record's own page.

Pages are thin: ``loandesk.flows`` decides who may do what (``actions``) and lists the boxes
(``inbox``); ``view`` puts an approval into words for one viewer.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, g
from flask_babel import ngettext

from loandesk import extension
from loandesk.plugins.info import NavCount

bp = Blueprint("approvals", __name__, url_prefix="/approvals")


@bp.record_once
def _template_globals(state: Any) -> None:
    from loandesk.db import utcnow
    from loandesk.web.approvals import labels

    state.app.add_template_global(labels.step_state, "approval_step_state")
    state.app.add_template_global(labels.task_state, "approval_task_state")
    state.app.add_template_global(utcnow, "approval_now")


def counts_of(user_id: uuid.UUID) -> dict[str, int]:
    """``inbox.counts`` of the user, once per request (the menu's badges and the inbox's tabs
    show the same numbers; ask only once what happened has been committed)."""
    from loandesk.flows import inbox

    cache: dict[uuid.UUID, dict[str, int]] = g.setdefault("loandesk_approval_counts", {})
    if user_id not in cache:
        cache[user_id] = inbox.counts(extension.session(), user_id)
    return dict(cache[user_id])


def nav_counts(user: Any) -> list[NavCount]:
    """The badges of the Approvals nav entry: tasks waiting for the user, unread CCs."""
    counts = counts_of(user.id)
    return [
        NavCount(
            counts["todo"],
            ngettext("%(num)d to do", "%(num)d to do", counts["todo"]),
        ),
        NavCount(
            counts["cc"],
            ngettext("%(num)d unread CC", "%(num)d unread CCs", counts["cc"]),
            muted=True,
        ),
    ]


from loandesk.web.approvals import approval_views, inbox_views  # noqa: E402, F401  (routes)
