"""Schemas of ``/api/v1/todos``."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from loandesk.api.schemas import PageArgs, page_of

DUE_DATE = "Due date in the tenant's timezone; without due_time it is due at the end of that day"


class TodoArgs(PageArgs):
    box = ma.fields.String(
        load_default="assigned",
        validate=validate.OneOf(("assigned", "created")),
        metadata={"description": "assigned (to the staff member or a role they hold) or created"},
    )
    state = ma.fields.String(
        load_default="open",
        validate=validate.OneOf(("open", "done", "all")),
        metadata={"description": "open (soonest due first), done (latest first) or all"},
    )
    overdue = ma.fields.Boolean(load_default=False, metadata={"description": "Only overdue"})
    due_from = ma.fields.Date(
        load_default=None, metadata={"description": "Due on or after (tenant's date)"}
    )
    due_to = ma.fields.Date(
        load_default=None, metadata={"description": "Due on or before (tenant's date)"}
    )
    record_type = ma.fields.String(load_default=None, metadata={"description": "e.g. application"})
    record_id = ma.fields.String(load_default=None, validate=validate.Length(max=64))


class TodoSchema(ma.Schema):
    id = ma.fields.UUID()
    title = ma.fields.String()
    note = ma.fields.String()
    assignee_user_id = ma.fields.UUID(allow_none=True)
    assignee_role = ma.fields.String(allow_none=True, metadata={"description": "A role key"})
    assignee_name = ma.fields.String(metadata={"description": "The user's or the role's name"})
    due_at = ma.fields.DateTime(allow_none=True, metadata={"description": "UTC"})
    due_date = ma.fields.Date(allow_none=True, metadata={"description": "Tenant's date"})
    due_time = ma.fields.Time(allow_none=True, metadata={"description": "None: all day"})
    overdue = ma.fields.Boolean()
    done = ma.fields.Boolean()
    done_at = ma.fields.DateTime(allow_none=True)
    done_by_id = ma.fields.UUID(allow_none=True)
    record_type = ma.fields.String(allow_none=True)
    record_id = ma.fields.String(allow_none=True)
    source = ma.fields.String(metadata={"description": "manual, or rule:<id> for automations"})
    created_by_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime()
    can_toggle = ma.fields.Boolean(metadata={"description": "May mark it done or undone"})
    can_edit = ma.fields.Boolean(metadata={"description": "May change or delete it"})


TodoPage = page_of(TodoSchema, "TodoPage")


class TodoCountsSchema(ma.Schema):
    open = ma.fields.Integer()
    overdue = ma.fields.Integer()


class TodoCreateArgs(ma.Schema):
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    note = ma.fields.String(load_default="", validate=validate.Length(max=5000))
    assignee_user_id = ma.fields.UUID(load_default=None)
    assignee_role = ma.fields.String(
        load_default=None, validate=validate.Length(max=40), metadata={"description": "Role key"}
    )
    due_date = ma.fields.Date(load_default=None, metadata={"description": DUE_DATE})
    due_time = ma.fields.Time(load_default=None, metadata={"description": "Tenant's local time"})
    record_type = ma.fields.String(load_default=None, validate=validate.Length(max=40))
    record_id = ma.fields.String(load_default=None, validate=validate.Length(max=64))

    @ma.validates_schema
    def _one_assignee(self, data: dict[str, object], **_: object) -> None:
        if (data.get("assignee_user_id") is None) == (not data.get("assignee_role")):
            raise ma.ValidationError("Give assignee_user_id or assignee_role.", "assignee")
        if (data.get("record_type") is None) != (data.get("record_id") is None):
            raise ma.ValidationError("Give record_type and record_id together.", "record_id")
        if data.get("due_time") is not None and data.get("due_date") is None:
            raise ma.ValidationError("A due_time needs a due_date.", "due_time")


class TodoPatchArgs(ma.Schema):
    title = ma.fields.String(validate=validate.Length(min=1, max=200))
    note = ma.fields.String(validate=validate.Length(max=5000))
    assignee_user_id = ma.fields.UUID(allow_none=True)
    assignee_role = ma.fields.String(allow_none=True, validate=validate.Length(max=40))
    due_date = ma.fields.Date(allow_none=True, metadata={"description": DUE_DATE + "; null clears"})
    due_time = ma.fields.Time(allow_none=True)
