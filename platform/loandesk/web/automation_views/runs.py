"""A rule's run log: firings newest first, filtered by state, a page at a time, with the
record each ran for and a retry button on the failed ones."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select

from loandesk import extension
from loandesk.automations import engine, service
from loandesk.automations.models import FIRING_STATES, RuleFiring
from loandesk.errors import DomainError
from loandesk.web.auth_views import permission_required
from loandesk.web.automation_views import bp
from loandesk.web.automation_views.common import (
    PERMISSION,
    locale,
    partial,
    record_type_or_none,
)
from loandesk.web.automation_views.pages import _rule
from loandesk.web.paging import page_asked

PER_PAGE = 20


def record_url(record_type: Any, record_id: str) -> str | None:
    """The record's page, when its record type has one."""
    if record_type is None or not record_type.detail_endpoint:
        return None
    arguments: dict[str, Any] = {f"{record_type.key}_id": record_id}
    return url_for(record_type.detail_endpoint, **arguments)


@bp.get("/<rule_id>/runs", endpoint="runs")
@permission_required(PERMISSION)
def runs(rule_id: str) -> Any:
    row = _rule(rule_id)
    state = request.args.get("state") or None
    if state not in FIRING_STATES:
        state = None
    page = page_asked()
    firings, total = service.runs(
        extension.session(), row.id, state=state, page=page, per_page=PER_PAGE
    )
    record_type = record_type_or_none(row.record_type)
    context = {
        "row": row,
        "firings": [(f, record_url(record_type, f.record_id)) for f in firings],
        "total": total,
        "page": page,
        "pages": max((total + PER_PAGE - 1) // PER_PAGE, 1),
        "state": state or "",
        "states": FIRING_STATES,
        "locale": locale(),
    }
    template = "admin/automations/_runs.html" if partial() else "admin/automations/runs.html"
    return render_template(template, **context)


@bp.post("/<rule_id>/runs/<firing_id>/retry", endpoint="retry")
@permission_required(PERMISSION)
def retry(rule_id: str, firing_id: str) -> Any:
    """Run a failed firing again from the action that failed."""
    row = _rule(rule_id)
    session = extension.session()
    try:
        ident = uuid.UUID(firing_id)
        if (
            session.scalar(
                select(RuleFiring.id).where(RuleFiring.id == ident, RuleFiring.rule_id == row.id)
            )
            is None
        ):
            raise ValueError(firing_id)  # another rule's run: not from this log
        engine.retry(session, ident)
    except (DomainError, ValueError) as problem:
        session.rollback()
        text = (
            gettext(problem.message, **problem.params)
            if isinstance(problem, DomainError)
            else gettext("No such run.")
        )
        flash(text, "error")
    else:
        session.commit()
        flash(gettext("The run will be tried again."), "success")
    return redirect(url_for("tenant.admin_automations.runs", rule_id=row.id,
                            state=request.form.get("state") or None))  # fmt: skip
