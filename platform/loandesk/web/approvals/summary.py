"""A record's approval on the record's own page (re-exported by ``loandesk.sdk``): the latest
approval's state, where it stands and its timeline, with a link to the approval's page and a
Withdraw button for the submitter while nobody has decided.

A module's detail view passes ``record_approval(key, record.id)`` to its template, which
draws it with the macro ``record_approval`` of ``RECORD_APPROVAL_TEMPLATE``::

    {% from approval_template import record_approval %}
    {{ record_approval(approval) }}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g, request

from loandesk import extension
from loandesk.errors import NotFound
from loandesk.flows.service import latest
from loandesk.web.approvals import view

RECORD_APPROVAL_TEMPLATE = "approvals/_record.html"


@dataclass
class RecordApproval:
    """What the ``record_approval`` macro draws."""

    approval: view.Approval
    can_withdraw: bool
    back: str  # the record's page, where a withdrawal returns to


def record_approval(record_type: str, record_id: Any) -> RecordApproval | None:
    """The latest approval of the record ``record_id`` of ``record_type`` for the signed-in
    user, or None when it never went into approval (or the user may not see it)."""
    session = extension.session()
    instance = latest(session, record_type, record_id)
    if instance is None or g.get("user") is None:
        return None
    try:
        visible = view.open_approval(session, instance.id, g.user)
    except NotFound:
        return None
    return RecordApproval(
        view.approval(session, visible),
        view.panel(session, visible).can_withdraw,
        request.path,
    )
