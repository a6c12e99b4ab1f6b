"""``/api/v1/todos``: the to-dos (待办事项) of the staff member the API client acts for — their
own and those of the roles they hold. Reading needs ``todos:read``; creating, changing and
ticking off ``todos:write``. A to-do the staff member neither holds, created nor administers
is 404.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from loandesk import extension
from loandesk.api.todo_schemas import (
    TodoArgs,
    TodoCountsSchema,
    TodoCreateArgs,
    TodoPage,
    TodoPatchArgs,
    TodoSchema,
)
from loandesk.auth.oauth import require_token
from loandesk.auth.users import display_names
from loandesk.db import utcnow
from loandesk.errors import NotFound, ValidationFailed
from loandesk.i18n import N_
from loandesk.plugins import runtime as plugin_runtime
from loandesk.rbac.current import acting_user, record_access
from loandesk.rbac.service import list_roles
from loandesk.tenancy import current
from loandesk.todos import dates, service
from loandesk.todos.models import Todo

blp = Blueprint(
    "api_todos",
    __name__,
    url_prefix="/todos",
    description="To-dos (待办事项) of the staff member the client acts for: assigned to them "
    "or to a role they hold, with a due date and an optional link to a business record.",
)


def _actor() -> service.Actor:
    user = acting_user()
    return service.Actor(user.id, user.is_admin)


def _view(todos: list[Todo], actor: service.Actor) -> list[dict[str, Any]]:
    session = extension.session()
    zone = current().timezone
    names = display_names(session, [t.assignee_user_id for t in todos if t.assignee_user_id])
    roles = {r.key: r.name_en for r in list_roles(session)} if todos else {}
    now = utcnow()
    shown = []
    for todo in todos:
        local = dates.local_moment(todo.due_at, zone) if todo.due_at else None
        shown.append(
            {
                **{c: getattr(todo, c) for c in TodoSchema().fields if hasattr(Todo, c)},
                "assignee_name": names.get(todo.assignee_user_id, "")
                if todo.assignee_user_id
                else roles.get(todo.assignee_role or "", todo.assignee_role),
                "due_date": local.date() if local else None,
                "due_time": None if local is None or todo.due_all_day else local.time(),
                "overdue": todo.is_overdue(now),
                "done": todo.is_done,
                "can_toggle": service.may_toggle(session, todo, actor),
                "can_edit": service.may_edit(todo, actor),
            }
        )
    return shown


def _due(args: dict[str, Any]) -> tuple[Any, bool] | None:
    if args.get("due_date") is None:
        return None
    return dates.due_at(args["due_date"], args.get("due_time"), current().timezone)


def _link(args: dict[str, Any]) -> tuple[service.Link | None, Any]:
    if args.get("record_type") is None:
        return None, None
    try:
        declared = plugin_runtime.record_type(args["record_type"])
    except NotFound:
        raise ValidationFailed(
            N_("The to-do was not saved."), errors={"record_type": [N_("No such record type.")]}
        ) from None
    return service.Link(declared, args["record_id"]), record_access(declared.key)


@blp.route("")
class Todos(MethodView):
    @require_token("todos:read")
    @blp.arguments(TodoArgs, location="query")
    @blp.response(200, TodoPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The staff member's to-dos.

        Their own and their roles', filtered, a page at a time: open ones soonest due first.
        """
        actor = _actor()
        start, end = dates.day_range(args["due_from"], args["due_to"], current().timezone)
        filters = service.Filters(
            box=args["box"],
            state=args["state"],
            overdue=args["overdue"],
            due_from=start,
            due_to=end,
            record_type=args["record_type"],
            record_id=args["record_id"],
        )
        found = service.list_for(
            extension.session(),
            actor.user_id,
            filters,
            page=args["page"],
            per_page=args["per_page"],
        )
        return {
            "items": _view(found.items, actor),
            "page": found.page,
            "per_page": found.per_page,
            "total": found.total,
        }

    @require_token("todos:write")
    @blp.arguments(TodoCreateArgs)
    @blp.response(201, TodoSchema)
    @blp.alt_response(422, description="A field is wrong: no such user, role or record")
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Create a to-do.

        For a user (``assignee_user_id``) or for every holder of a role (``assignee_role``).
        A linked record must be one the staff member may read. Audited.
        """
        session = extension.session()
        actor = _actor()
        link, access = _link(args)
        todo = service.create(
            session,
            args["title"],
            assignee_user_id=args["assignee_user_id"],
            assignee_role=args["assignee_role"],
            due=_due(args),
            note=args["note"],
            link=link,
            access=access,
            created_by_id=actor.user_id,
        )
        session.commit()
        return _view([todo], actor)[0]


@blp.route("/counts")
class Counts(MethodView):
    @require_token("todos:read")
    @blp.response(200, TodoCountsSchema)
    def get(self) -> dict[str, int]:
        """Counts for the navigation: open to-dos, and how many of them are overdue."""
        return service.counts(extension.session(), acting_user().id)


@blp.route("/<uuid:todo_id>")
class One(MethodView):
    @require_token("todos:read")
    @blp.response(200, TodoSchema)
    @blp.alt_response(404, description="No such to-do, or not the staff member's")
    def get(self, todo_id: uuid.UUID) -> dict[str, Any]:
        """One to-do."""
        actor = _actor()
        return _view([service.get(extension.session(), todo_id, actor)], actor)[0]

    @require_token("todos:write")
    @blp.arguments(TodoPatchArgs)
    @blp.response(200, TodoSchema)
    @blp.alt_response(403, description="Only the creator or an admin may change it")
    def patch(self, args: dict[str, Any], todo_id: uuid.UUID) -> dict[str, Any]:
        """Change a to-do: title, note, assignee, due date. Creator or admin; audited."""
        session = extension.session()
        actor = _actor()
        changes: dict[str, Any] = {"title": args.get("title"), "note": args.get("note")}
        if "assignee_user_id" in args or "assignee_role" in args:
            changes["assignee"] = (args.get("assignee_user_id"), args.get("assignee_role"))
        if "due_date" in args:
            changes["due"] = _due(args)
        elif "due_time" in args:
            raise ValidationFailed(
                N_("The to-do was not saved."), errors={"due_time": [N_("Give the due date too.")]}
            )
        todo = service.update(session, todo_id, actor, **changes)
        session.commit()
        return _view([todo], actor)[0]

    @require_token("todos:write")
    @blp.response(204)
    @blp.alt_response(403, description="Only the creator or an admin may delete it")
    def delete(self, todo_id: uuid.UUID) -> None:
        """Delete a to-do. Creator or admin; audited."""
        session = extension.session()
        service.delete(session, todo_id, _actor())
        session.commit()


@blp.route("/<uuid:todo_id>/done")
class Done(MethodView):
    @require_token("todos:write")
    @blp.response(200, TodoSchema)
    @blp.alt_response(403, description="Neither assignee, role holder nor creator")
    def post(self, todo_id: uuid.UUID) -> dict[str, Any]:
        """Mark the to-do done (the assignee, a holder of its role, or its creator)."""
        session = extension.session()
        actor = _actor()
        todo = service.mark_done(session, todo_id, actor)
        session.commit()
        return _view([todo], actor)[0]


@blp.route("/<uuid:todo_id>/undone")
class Undone(MethodView):
    @require_token("todos:write")
    @blp.response(200, TodoSchema)
    @blp.alt_response(403, description="Neither assignee, role holder nor creator")
    def post(self, todo_id: uuid.UUID) -> dict[str, Any]:
        """Open the to-do again."""
        session = extension.session()
        actor = _actor()
        todo = service.mark_undone(session, todo_id, actor)
        session.commit()
        return _view([todo], actor)[0]
