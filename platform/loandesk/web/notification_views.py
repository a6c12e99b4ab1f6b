"""The signed-in staff member's in-app notifications (通知): the list (unread first filter),
marking one or all read (POST + CSRF, htmx answers refresh the bell's badge out of band), and
the bell's count in the navigation."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import ngettext

from loandesk import extension
from loandesk.errors import NotFound
from loandesk.notifications import inbox
from loandesk.plugins.info import NavCount
from loandesk.tenancy import current
from loandesk.todos import dates
from loandesk.web.auth_views import login_required
from loandesk.web.htmx import htmx
from loandesk.web.records import record_link

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def nav_counts(user: Any) -> list[NavCount]:
    """The bell's badge: unread notifications."""
    unread = inbox.unread_count(extension.session(), user.id)
    return [NavCount(unread, ngettext("%(num)d unread", "%(num)d unread", unread))]


def _render(unread_only: bool, changed: bool = False) -> Any:
    rows = inbox.latest(extension.session(), g.user.id, unread_only=unread_only)
    zone = current().timezone
    context = {
        "rows": [
            (
                row,
                record_link(row.record_type, row.record_id)[1],
                dates.local_moment(row.created_at, zone),
            )
            for row in rows
        ],
        "unread_only": unread_only,
        "oob_badges": changed and bool(htmx),
    }
    if htmx:
        return render_template("notifications/_list.html", **context)
    return render_template("notifications/index.html", **context)


@bp.get("/", endpoint="index")
@login_required
def index() -> Any:
    return _render(request.args.get("unread") in ("1", "on", "true"))


@bp.post("/read", endpoint="read")
@login_required
def read() -> Any:
    """Mark read the notification ``id`` of the form, or all of them without one."""
    session = extension.session()
    ident = request.form.get("id")
    try:
        ids = [uuid.UUID(ident)] if ident else None
    except ValueError:
        raise NotFound("no such notification") from None
    inbox.mark_read(session, g.user.id, ids)
    session.commit()
    unread_only = request.form.get("unread") in ("1", "on", "true")
    if not htmx:
        return redirect(url_for("tenant.notifications.index", unread="1" if unread_only else None))
    return _render(unread_only, changed=True)
