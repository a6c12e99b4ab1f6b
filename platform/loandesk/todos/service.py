"""To-dos (待办事项): create, list, count, mark done or undone, edit and delete.

No Flask here: the API, the web pages and automation rules call the same functions in their
own transaction. ``created_by_id`` None means the system made the to-do (a rule); a person
creating one passes a ``RecordAccess`` so that they can only link records they may read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from loandesk import audit, events
from loandesk.auth.models import User
from loandesk.db import utcnow
from loandesk.errors import Forbidden, NotFound, ValidationFailed
from loandesk.fields.registry import RecordType
from loandesk.i18n import N_
from loandesk.rbac.access import RecordAccess
from loandesk.rbac.models import Role
from loandesk.rbac.service import roles_of
from loandesk.todos.models import Todo

MAX_TITLE = 200
MAX_NOTE = 5000
MAX_PER_PAGE = 100
State = Literal["open", "done", "all"]
Box = Literal["assigned", "created"]


@dataclass(frozen=True)
class Actor:
    """Who acts on to-dos: a staff member, and whether they are a tenant admin."""

    user_id: uuid.UUID
    is_admin: bool = False


@dataclass(frozen=True)
class Link:
    """The business record a to-do is about: its enabled record type and id."""

    record_type: RecordType
    record_id: str


@dataclass(frozen=True)
class Filters:
    """What a to-do list shows: those ``assigned`` to the user (and their roles) or those they
    ``created``; ``state``; only overdue ones; due within ``due_from`` .. ``due_to`` (UTC,
    inclusive); about one record."""

    box: Box = "assigned"
    state: State = "open"
    overdue: bool = False
    due_from: datetime | None = None
    due_to: datetime | None = None
    record_type: str | None = None
    record_id: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[Todo]
    page: int
    per_page: int
    total: int


# --- checks ----------------------------------------------------------------------------------


def _check_text(title: str, note: str, errors: dict[str, list[str]]) -> None:
    if not title.strip():
        errors.setdefault("title", []).append(N_("Give the to-do a title."))
    elif len(title) > MAX_TITLE:
        errors.setdefault("title", []).append(N_("Use at most 200 characters."))
    if len(note) > MAX_NOTE:
        errors.setdefault("note", []).append(N_("Use at most 5000 characters."))


def _check_assignee(
    session: Session,
    user_id: uuid.UUID | None,
    role: str | None,
    errors: dict[str, list[str]],
) -> None:
    if (user_id is None) == (not role):
        errors.setdefault("assignee", []).append(N_("Assign the to-do to a user or to a role."))
        return
    if user_id is not None:
        user = session.scalar(select(User).where(User.id == user_id))
        if user is None or not user.is_active:
            errors.setdefault("assignee_user_id", []).append(N_("No such active user."))
    elif session.scalar(select(Role.id).where(Role.key == role)) is None:
        errors.setdefault("assignee_role", []).append(N_("No such role."))


def _check_link(
    session: Session, link: Link, access: RecordAccess | None, errors: dict[str, list[str]]
) -> None:
    model: Any = link.record_type.model
    try:
        key: Any = uuid.UUID(link.record_id)
    except ValueError:
        key = None
    record = session.scalar(select(model).where(model.id == key)) if key is not None else None
    # a record the person may not read is reported like a missing one: nothing leaks
    if record is None or (access is not None and not access.reaches(record)):
        errors.setdefault("record_id", []).append(N_("No such record."))


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(N_("The to-do was not saved."), errors=errors)


def _audited(todo: Todo) -> dict[str, Any]:
    return {
        "title": todo.title,
        "assignee_user_id": str(todo.assignee_user_id) if todo.assignee_user_id else None,
        "assignee_role": todo.assignee_role,
        "due_at": todo.due_at.isoformat() if todo.due_at else None,
        "record": f"{todo.record_type}:{todo.record_id}" if todo.record_type else None,
    }


def _payload(todo: Todo) -> dict[str, Any]:
    return {
        "todo": str(todo.id),
        "title": todo.title,
        "assignee_user_id": str(todo.assignee_user_id) if todo.assignee_user_id else None,
        "assignee_role": todo.assignee_role,
        "record_type": todo.record_type,
        "record_id": todo.record_id,
        "source": todo.source,
    }


# --- creating --------------------------------------------------------------------------------


def create(
    session: Session,
    title: str,
    *,
    assignee_user_id: uuid.UUID | None = None,
    assignee_role: str | None = None,
    due: tuple[datetime, bool] | None = None,
    note: str = "",
    link: Link | None = None,
    created_by_id: uuid.UUID | None = None,
    access: RecordAccess | None = None,
    source: str = "manual",
    source_key: str | None = None,
) -> Todo:
    """Create a to-do (audited; event ``todo.created``). ``due`` is ``(UTC moment, all_day)``
    as ``dates.due_at`` gives it. A person creating it passes ``created_by_id`` and their ``access``
    to the linked record's type; a rule passes ``source="rule:<id>"`` and a ``source_key``:
    if a to-do with that key exists it is returned unchanged, so running a rule twice creates
    one to-do. ``ValidationFailed`` names each field that is wrong."""
    if source_key is not None:
        existing = _by_source_key(session, source_key)
        if existing is not None:
            return existing
    title, note = title.strip(), note.strip()
    errors: dict[str, list[str]] = {}
    _check_text(title, note, errors)
    _check_assignee(session, assignee_user_id, assignee_role or None, errors)
    if link is not None:
        _check_link(session, link, access, errors)
    if source_key is not None and not 0 < len(source_key) <= 200:
        errors.setdefault("source_key", []).append(N_("Use 1 to 200 characters."))
    _raise(errors)
    todo = Todo(
        title=title,
        note=note,
        assignee_user_id=assignee_user_id,
        assignee_role=assignee_role or None,
        due_at=due[0] if due else None,
        due_all_day=due[1] if due else False,
        record_type=link.record_type.key if link else None,
        record_id=link.record_id if link else None,
        source=source[:60],
        source_key=source_key,
        created_by_id=created_by_id,
        created_at=utcnow(),
    )
    if source_key is None:
        session.add(todo)
        session.flush()
    else:
        # two runs of a rule at once: the second insert breaks the unique key; take the first's
        try:
            with session.begin_nested():
                session.add(todo)
        except IntegrityError:
            found = _by_source_key(session, source_key)
            if found is None:
                raise
            return found
    audit.record(session, "todo.create", "todo", todo.id, _audited(todo))
    events.emit(session, "todo.created", "todo", todo.id, _payload(todo))
    return todo


def _by_source_key(session: Session, source_key: str) -> Todo | None:
    return session.scalar(select(Todo).where(Todo.source_key == source_key))


# --- reading ---------------------------------------------------------------------------------


def _role_keys(session: Session, user_id: uuid.UUID) -> list[str]:
    return [r.key for r in roles_of(session, user_id)]


def _assigned_to(session: Session, user_id: uuid.UUID) -> ColumnElement[bool]:
    """To-dos for the user: their own and those of every role they hold."""
    keys = _role_keys(session, user_id)
    mine = Todo.assignee_user_id == user_id
    return or_(mine, Todo.assignee_role.in_(keys)) if keys else mine


def _filtered(statement: Any, filters: Filters, now: datetime) -> Any:
    if filters.state == "open":
        statement = statement.where(Todo.done_at.is_(None))
    elif filters.state == "done":
        statement = statement.where(Todo.done_at.is_not(None))
    if filters.overdue:
        statement = statement.where(Todo.done_at.is_(None), Todo.due_at < now)
    if filters.due_from is not None:
        statement = statement.where(Todo.due_at >= filters.due_from)
    if filters.due_to is not None:
        statement = statement.where(Todo.due_at <= filters.due_to)
    if filters.record_type is not None:
        statement = statement.where(Todo.record_type == filters.record_type)
    if filters.record_id is not None:
        statement = statement.where(Todo.record_id == filters.record_id)
    return statement


def list_for(
    session: Session,
    user_id: uuid.UUID,
    filters: Filters | None = None,
    *,
    page: int = 1,
    per_page: int = 20,
    now: datetime | None = None,
) -> Page:
    """The user's to-dos (their own and their roles', or those they created), a page at a
    time: open ones soonest due first (those without a due date last), done ones most recently
    done first."""
    filters = filters or Filters()
    now = now or utcnow()
    page, per_page = max(page, 1), min(max(per_page, 1), MAX_PER_PAGE)
    whose = (
        Todo.created_by_id == user_id
        if filters.box == "created"
        else _assigned_to(session, user_id)
    )
    where = _filtered(select(Todo).where(whose), filters, now)
    total = session.scalar(select(func.count()).select_from(where.subquery())) or 0
    if filters.state == "done":
        order: tuple[Any, ...] = (Todo.done_at.desc(), Todo.id.desc())
    else:
        order = (Todo.done_at.is_not(None), Todo.due_at.is_(None), Todo.due_at, Todo.id)
    items = list(
        session.scalars(where.order_by(*order).limit(per_page).offset((page - 1) * per_page))
    )
    return Page(items, page, per_page, int(total))


def of_record(session: Session, record_type: str, record_id: object) -> list[Todo]:
    """Every to-do linked to a record, open ones first (the record's page shows them: whoever
    may see the record may see what is to be done about it)."""
    return list(
        session.scalars(
            select(Todo)
            .where(Todo.record_type == record_type, Todo.record_id == str(record_id))
            .order_by(Todo.done_at.is_not(None), Todo.due_at.is_(None), Todo.due_at, Todo.id)
        )
    )


def counts(session: Session, user_id: uuid.UUID, now: datetime | None = None) -> dict[str, int]:
    """For the navigation: the user's open to-dos and how many of them are overdue."""
    now = now or utcnow()
    overdue = func.count(case((Todo.due_at < now, 1)))
    row = session.execute(
        select(func.count(Todo.id), overdue).where(
            _assigned_to(session, user_id), Todo.done_at.is_(None)
        )
    ).one()
    return {"open": int(row[0] or 0), "overdue": int(row[1] or 0)}


def get(session: Session, todo_id: uuid.UUID, actor: Actor) -> Todo:
    """One to-do, if ``actor`` may see it (assignee, role holder, creator or admin); else
    ``NotFound``, as if it did not exist."""
    todo = session.scalar(select(Todo).where(Todo.id == todo_id))
    if todo is None or not may_see(session, todo, actor):
        raise NotFound(N_("No such to-do."))
    return todo


def is_assignee(session: Session, todo: Todo, user_id: uuid.UUID) -> bool:
    if todo.assignee_user_id is not None:
        return todo.assignee_user_id == user_id
    return todo.assignee_role in _role_keys(session, user_id)


def may_see(session: Session, todo: Todo, actor: Actor) -> bool:
    return (
        actor.is_admin
        or todo.created_by_id == actor.user_id
        or is_assignee(session, todo, actor.user_id)
    )


def may_toggle(session: Session, todo: Todo, actor: Actor) -> bool:
    """Done/undone: the assignee, a holder of the role, or whoever created it."""
    return todo.created_by_id == actor.user_id or is_assignee(session, todo, actor.user_id)


def may_edit(todo: Todo, actor: Actor) -> bool:
    """Editing and deleting: whoever created it, or an admin (a rule's to-dos: admins)."""
    return actor.is_admin or (
        todo.created_by_id is not None and todo.created_by_id == actor.user_id
    )


# --- changing --------------------------------------------------------------------------------


def _toggle(
    session: Session, todo_id: uuid.UUID, actor: Actor, done: bool, now: datetime | None
) -> Todo:
    todo = get(session, todo_id, actor)
    if not may_toggle(session, todo, actor):
        raise Forbidden(N_("Only the assignee or the creator may tick off this to-do."))
    if todo.is_done == done:
        return todo  # ticking twice (two tabs open) changes nothing
    todo.done_at = (now or utcnow()) if done else None
    todo.done_by_id = actor.user_id if done else None
    session.flush()
    audit.record(session, "todo.done" if done else "todo.reopen", "todo", todo.id, {})
    name = "todo.done" if done else "todo.reopened"
    events.emit(session, name, "todo", todo.id, _payload(todo))
    return todo


def mark_done(
    session: Session, todo_id: uuid.UUID, actor: Actor, now: datetime | None = None
) -> Todo:
    """Tick the to-do off (audited; event ``todo.done``). Already done: unchanged."""
    return _toggle(session, todo_id, actor, True, now)


def mark_undone(session: Session, todo_id: uuid.UUID, actor: Actor) -> Todo:
    """Open the to-do again (audited; event ``todo.reopened``). Already open: unchanged."""
    return _toggle(session, todo_id, actor, False, None)


_UNSET: Any = object()


def update(
    session: Session,
    todo_id: uuid.UUID,
    actor: Actor,
    *,
    title: str | None = None,
    note: str | None = None,
    assignee: tuple[uuid.UUID | None, str | None] | None = None,
    due: Any = _UNSET,
) -> Todo:
    """Change a to-do's title, note, assignee ``(user_id, role)`` or ``due`` (``(UTC, all_day)``
    or None to clear it); only what is given changes. Creator or admin; audited."""
    todo = get(session, todo_id, actor)
    if not may_edit(todo, actor):
        raise Forbidden(N_("Only whoever created this to-do, or an admin, may change it."))
    before = _audited(todo)
    new_title = todo.title if title is None else title.strip()
    new_note = todo.note if note is None else note.strip()
    errors: dict[str, list[str]] = {}
    _check_text(new_title, new_note, errors)
    if assignee is not None:
        _check_assignee(session, assignee[0], assignee[1] or None, errors)
    _raise(errors)
    todo.title, todo.note = new_title, new_note
    if assignee is not None:
        todo.assignee_user_id, todo.assignee_role = assignee[0], assignee[1] or None
    if due is not _UNSET:
        todo.due_at, todo.due_all_day = due if due is not None else (None, False)
    session.flush()
    after = _audited(todo)
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if note is not None:
        changed["note"] = ["…", "…"]  # notes may hold personal data: the log says it changed
    audit.record(session, "todo.update", "todo", todo.id, changed)
    return todo


def delete(session: Session, todo_id: uuid.UUID, actor: Actor) -> None:
    """Delete a to-do: creator or admin; audited with what it was."""
    todo = get(session, todo_id, actor)
    if not may_edit(todo, actor):
        raise Forbidden(N_("Only whoever created this to-do, or an admin, may delete it."))
    audit.record(session, "todo.delete", "todo", todo.id, _audited(todo))
    session.delete(todo)
    session.flush()
