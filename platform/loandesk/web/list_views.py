"""Saved views from a list page: save the list as shown under a name, update, rename, make
default, delete. Each action posts (with the CSRF token) and returns to the list, showing
the view; a user only ever reaches their own views."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext

from loandesk import extension
from loandesk.errors import DomainError
from loandesk.fields import saved_views
from loandesk.fields.lists import RecordList
from loandesk.rbac.current import record_access
from loandesk.web.auth_views import login_required
from loandesk.web.lists import asked

bp = Blueprint("list_views", __name__, url_prefix="/views")


def _back(**params: Any) -> Any:
    """Back to the list the form came from (a path of this tenant only)."""
    back = request.form.get("back", "")
    prefix = url_for("tenant.list_views.save").rsplit("/views/", 1)[0] + "/"  # /t/<slug>/
    if not back.startswith(prefix) or "//" in back or "\\" in back:
        back = prefix
    path = back.split("?", 1)[0]
    query = urlencode({k: v for k, v in params.items() if v})
    return redirect(path + ("?" + query if query else ""))


def _listing(record_type: str) -> RecordList:
    access = record_access(record_type)
    access.require_read()
    return RecordList(access)


def _failed(problem: DomainError) -> None:
    extension.session().rollback()
    details = "; ".join(m for messages in problem.errors.values() for m in messages)
    flash(gettext(problem.message, **problem.params) + (f" {details}" if details else ""), "error")


@bp.post("/", endpoint="save")
@login_required
def save() -> Any:
    """Save the list as shown as a new view, or into the view named by ``view_id``."""
    session = extension.session()
    state = asked(request.form).state
    values: dict[str, Any] = {
        "columns": list(state.columns),
        "filters": [str(f) for f in state.filters],
        "sort": state.sort,
    }
    view = None
    try:
        if request.form.get("view_id"):
            view = saved_views.get_view(session, g.user.id, uuid.UUID(request.form["view_id"]))
            listing = _listing(view.record_type)
        else:
            listing = _listing(request.form.get("record_type", ""))
            values["name"] = request.form.get("name", "")
            values["is_default"] = bool(request.form.get("is_default"))
        view = saved_views.save_view(session, listing, g.user.id, values, view=view)
    except (DomainError, ValueError) as problem:
        if isinstance(problem, ValueError):
            problem = DomainError("No such view.")
        _failed(problem)
        return _back(**{"view": str(view.id) if view else ""})
    session.commit()
    flash(gettext("View saved."), "success")
    return _back(view=str(view.id))


@bp.post("/<uuid:view_id>", endpoint="change")
@login_required
def change(view_id: uuid.UUID) -> Any:
    """``action``: rename (with ``name``), default, undefault or delete."""
    session = extension.session()
    action = request.form.get("action", "")
    try:
        view = saved_views.get_view(session, g.user.id, view_id)
        if action == "delete":
            saved_views.delete_view(session, view)
            session.commit()
            flash(gettext("View deleted."), "success")
            return _back(cleared="1")
        values: dict[str, Any] = {}
        if action == "rename":
            values["name"] = request.form.get("name", "")
        elif action in ("default", "undefault"):
            values["is_default"] = action == "default"
        saved_views.save_view(session, _listing(view.record_type), g.user.id, values, view=view)
    except DomainError as problem:
        _failed(problem)
        return _back(view=str(view_id))
    session.commit()
    flash(gettext("View saved."), "success")
    return _back(view=str(view.id))
