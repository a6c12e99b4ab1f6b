"""The to-do list page (待办事项): the signed-in user's to-dos and their roles', filtered in
place by htmx (open, done, overdue), a form to create one for a colleague or a role with a
local due date and time, done/undone toggles, and a record's to-dos for the record's page.
The service (``loandesk.todos.service``) decides who may do what."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext, lazy_gettext, ngettext
from werkzeug.routing import BuildError

from loandesk import extension
from loandesk.api.schemas import MAX_PAGE
from loandesk.auth.users import active_staff, display_names
from loandesk.db import utcnow
from loandesk.errors import DomainError, NotFound
from loandesk.plugins import runtime
from loandesk.plugins.info import NavCount
from loandesk.rbac.current import record_access
from loandesk.rbac.service import list_roles
from loandesk.tenancy import current
from loandesk.todos import dates, service
from loandesk.todos.models import Todo
from loandesk.web.auth_views import login_required
from loandesk.web.forms import FormErrors
from loandesk.web.htmx import htmx

bp = Blueprint("todos", __name__, url_prefix="/todos")

PER_PAGE = 20
TARGET = "todos"
RECORD_TODOS_TEMPLATE = "todos/_record.html"
BOXES = {
    "assigned": lazy_gettext("For me"),
    "created": lazy_gettext("Created by me"),
}
STATES = {
    "open": lazy_gettext("Open"),
    "done": lazy_gettext("Done"),
    "all": lazy_gettext("All"),
}


def nav_counts(user: Any) -> list[NavCount]:
    """The badges of the To-dos nav entry: open to-dos, and the overdue ones in red."""
    counts = service.counts(extension.session(), user.id)
    return [
        NavCount(
            counts["open"],
            ngettext("%(num)d open to-do", "%(num)d open to-dos", counts["open"]),
            muted=True,
        ),
        NavCount(
            counts["overdue"],
            ngettext("%(num)d overdue", "%(num)d overdue", counts["overdue"]),
        ),
    ]


@dataclass
class Row:
    """A to-do as the list shows it to the signed-in user."""

    todo: Todo
    assignee: str
    due: datetime | None  # tenant-local
    overdue: bool
    can_toggle: bool
    can_edit: bool
    record_label: str
    record_url: str | None


def _actor() -> service.Actor:
    return service.Actor(g.user.id, g.user.is_admin)


def _locale() -> str:
    return str(get_locale() or "zh")


def _record_url(todo: Todo) -> tuple[str, str | None]:
    if not todo.record_type:
        return "", None
    try:
        declared = runtime.record_type(todo.record_type)
    except NotFound:  # its plugin is off now: the link would lead nowhere
        return todo.record_type, None
    if declared.detail_endpoint is None:
        return declared.label(_locale()), None
    try:
        arguments: dict[str, Any] = {f"{declared.key}_id": todo.record_id}
        target = url_for(declared.detail_endpoint, **arguments)
    except BuildError:
        target = None
    return declared.label(_locale()), target


def rows(todos: list[Todo]) -> list[Row]:
    """The to-dos with what the signed-in user sees and may do."""
    session = extension.session()
    actor = _actor()
    zone = current().timezone
    names = display_names(session, [t.assignee_user_id for t in todos if t.assignee_user_id])
    roles = {r.key: r.name(_locale()) for r in list_roles(session)} if todos else {}
    now = utcnow()
    shown = []
    for todo in todos:
        label, target = _record_url(todo)
        assignee = (
            names.get(todo.assignee_user_id, "")
            if todo.assignee_user_id
            else roles.get(todo.assignee_role or "", todo.assignee_role or "")
        )
        shown.append(
            Row(
                todo,
                assignee,
                dates.local_moment(todo.due_at, zone) if todo.due_at else None,
                todo.is_overdue(now),
                service.may_toggle(session, todo, actor),
                service.may_edit(todo, actor),
                label,
                target,
            )
        )
    return shown


def _assignees() -> list[tuple[str, str]]:
    session = extension.session()
    people = [(f"user:{u.id}", u.display_name) for u in active_staff(session)]
    groups = [
        (f"role:{r.key}", gettext("Everyone with role %(role)s", role=r.name(_locale())))
        for r in list_roles(session)
    ]
    return [("", gettext("Choose…")), *people, *groups]


def _values(source: Any, keys: tuple[str, ...]) -> dict[str, str]:
    return {k: str(source.get(k, "")).strip()[:5000] for k in keys}


FORM = ("title", "note", "assignee", "due_date", "due_time", "record_type", "record_id")


def render_list(
    values: dict[str, str],
    *,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    created: bool = False,
) -> Any:
    """The page, or for htmx its region (``#todos``) with the nav badges refreshed."""
    box = values.get("box") if values.get("box") in BOXES else "assigned"
    state = values.get("state") if values.get("state") in STATES else "open"
    overdue = values.get("overdue") in ("1", "on", "true")
    page = min(max(int(values["page"]) if values.get("page", "").isdigit() else 1, 1), MAX_PAGE)
    found = service.list_for(
        extension.session(),
        g.user.id,
        service.Filters(box=box, state=state, overdue=overdue),  # type: ignore[arg-type]
        page=page,
        per_page=PER_PAGE,
    )
    errors = errors if errors is not None else FormErrors()
    context = {
        "box": box,
        "boxes": BOXES,
        "state": state,
        "states": STATES,
        "overdue": overdue,
        "result": found,
        "rows": rows(found.items),
        "form": form or dict.fromkeys(FORM, ""),
        "errors": errors,
        "assignees": _assignees(),
        "created": created,
        "oob_badges": bool(htmx) and request.method == "POST",
        "pages": (found.total + PER_PAGE - 1) // PER_PAGE,
    }
    code = 422 if errors else 200
    if htmx and (htmx.target == TARGET or request.method == "POST"):
        return render_template("todos/_list.html", **context), code
    return render_template("todos/index.html", **context), code


@bp.get("/", endpoint="index")
@login_required
def index() -> Any:
    return render_list(_values(request.args, ("box", "state", "overdue", "page")))


def _parse_due(form: dict[str, str], errors: FormErrors) -> tuple[datetime, bool] | None:
    day: date | None = None
    at: time | None = None
    if form["due_date"]:
        try:
            day = date.fromisoformat(form["due_date"])
        except ValueError:
            errors.add("due_date", gettext("Enter a date like 2026-12-01."))
    if form["due_time"]:
        try:
            at = time.fromisoformat(form["due_time"])
        except ValueError:
            errors.add("due_time", gettext("Enter a time like 14:30."))
        if not form["due_date"]:
            errors.add("due_time", gettext("Give the due date too."))
    return dates.due_at(day, at, current().timezone) if day is not None else None


def _parse_assignee(value: str, errors: FormErrors) -> tuple[uuid.UUID | None, str | None]:
    kind, _, key = value.partition(":")
    if kind == "user":
        try:
            return uuid.UUID(key), None
        except ValueError:
            pass
    elif kind == "role" and key:
        return None, key
    errors.add("assignee", gettext("Choose who should do it."))
    return None, None


@bp.post("/", endpoint="create")
@login_required
def create() -> Any:
    """Create a to-do from the page's form (or a record page's): 422 with the messages beside
    the fields, nothing saved, when something is wrong."""
    session = extension.session()
    form = _values(request.form, FORM)
    listing = _values(request.form, ("box", "state", "overdue"))
    errors = FormErrors()
    if not form["title"]:  # said together with the other fields' problems, not after them
        errors.add("title", gettext("Give the to-do a title."))
    due = _parse_due(form, errors)
    user_id, role = _parse_assignee(form["assignee"], errors)
    link = access = None
    if form["record_type"] and form["record_id"]:
        try:
            declared = runtime.record_type(form["record_type"])
            link = service.Link(declared, form["record_id"])
            access = record_access(declared.key)
        except NotFound:
            errors.add("record_id", gettext("No such record."))
    if not errors:
        try:
            todo = service.create(
                session,
                form["title"],
                assignee_user_id=user_id,
                assignee_role=role,
                due=due,
                note=form["note"],
                link=link,
                access=access,
                created_by_id=g.user.id,
            )
            if not service.is_assignee(session, todo, g.user.id):
                # for someone else: show it where the creator will find it again
                listing = {**listing, "box": "created"}
            session.commit()
        except DomainError as error:
            session.rollback()
            errors.update(error, {"assignee_user_id": "assignee", "assignee_role": "assignee"})
    back = request.form.get("back", "")
    if not errors and back.startswith("/") and not back.startswith("//"):
        return redirect(back)  # from a record's page: back to it
    if errors:
        return render_list(listing, form=form, errors=errors)
    if not htmx:
        return redirect(url_for("tenant.todos.index"))
    return render_list(listing, created=True)


def _toggle(todo_id: uuid.UUID, done: bool) -> Any:
    session = extension.session()
    if done:
        todo = service.mark_done(session, todo_id, _actor())
    else:
        todo = service.mark_undone(session, todo_id, _actor())
    session.commit()
    if not htmx:
        return redirect(request.referrer or url_for("tenant.todos.index"))
    return render_template("todos/_row_answer.html", row=rows([todo])[0])


@bp.post("/<uuid:todo_id>/done", endpoint="done")
@login_required
def mark_done(todo_id: uuid.UUID) -> Any:
    return _toggle(todo_id, True)


@bp.post("/<uuid:todo_id>/undone", endpoint="undone")
@login_required
def mark_undone(todo_id: uuid.UUID) -> Any:
    return _toggle(todo_id, False)


@bp.post("/<uuid:todo_id>/delete", endpoint="delete")
@login_required
def delete(todo_id: uuid.UUID) -> Any:
    session = extension.session()
    service.delete(session, todo_id, _actor())
    session.commit()
    if not htmx:
        return redirect(url_for("tenant.todos.index"))
    return render_template("todos/_row_answer.html", row=None)


def record_todos(record_type: str, record_id: Any) -> list[Row]:
    """The to-dos of a record for its page (re-exported by ``loandesk.sdk``); draw them with
    the macro ``record_todos`` of ``RECORD_TODOS_TEMPLATE``::

        {% from todos_template import record_todos %}
        {{ record_todos(todos) }}
    """
    return rows(service.of_record(extension.session(), record_type, record_id))
