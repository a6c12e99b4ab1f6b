"""Schemas of ``/api/v1/approvals``: the inbox, one approval as its viewer sees it, and the
bodies of the operations on it."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from loandesk.api.schemas import PageArgs, page_of
from loandesk.flows.inbox import BOXES
from loandesk.flows.models import INSTANCE_STATES, MODES, STEP_STATES, TASK_STATES

# --- what is read ----------------------------------------------------------------------------


class UserRefSchema(ma.Schema):
    id = ma.fields.UUID()
    name = ma.fields.String(metadata={"description": "Display name"})


class InboxArgs(PageArgs):
    box = ma.fields.String(
        load_default="todo",
        validate=validate.OneOf(BOXES),
        metadata={
            "description": "todo (waiting for the staff member's decision, oldest first), done "
            "(decided or transferred by them), submitted (by them), cc (copied to them)"
        },
    )
    record_type = ma.fields.String(load_default=None, metadata={"description": "e.g. application"})
    state = ma.fields.String(
        load_default=None,
        validate=validate.OneOf(INSTANCE_STATES),
        metadata={"description": "The approval's state"},
    )
    q = ma.fields.String(
        load_default=None,
        validate=validate.Length(max=100),
        metadata={"description": "Words of the title (the record's number or name)"},
    )
    submitted_from = ma.fields.Date(
        load_default=None, metadata={"description": "Submitted on or after (tenant's date)"}
    )
    submitted_to = ma.fields.Date(
        load_default=None, metadata={"description": "Submitted on or before (tenant's date)"}
    )
    overdue = ma.fields.Boolean(
        load_default=False, metadata={"description": "Only those whose current step is overdue"}
    )


class StepRefSchema(ma.Schema):
    node_id = ma.fields.String()
    node_name = ma.fields.String()
    state = ma.fields.String(validate=validate.OneOf(STEP_STATES))
    due_at = ma.fields.DateTime(allow_none=True)
    overdue = ma.fields.Boolean(metadata={"description": "Active and past its deadline"})


class TaskRefSchema(ma.Schema):
    id = ma.fields.UUID()
    state = ma.fields.String(metadata={"description": ", ".join(TASK_STATES)})
    created_at = ma.fields.DateTime()
    decided_at = ma.fields.DateTime(allow_none=True)


class InboxItemSchema(ma.Schema):
    id = ma.fields.UUID(metadata={"description": "The approval's id"})
    record_type = ma.fields.String()
    record_id = ma.fields.String()
    title = ma.fields.String(metadata={"description": "The record's number or name"})
    state = ma.fields.String(metadata={"description": ", ".join(INSTANCE_STATES)})
    submitter = ma.fields.Nested(UserRefSchema)
    started_at = ma.fields.DateTime(metadata={"description": "Submitted at"})
    finished_at = ma.fields.DateTime(allow_none=True)
    step = ma.fields.Nested(
        StepRefSchema,
        allow_none=True,
        metadata={"description": "todo/done: the step of the task; else the current step"},
    )
    task = ma.fields.Nested(
        TaskRefSchema, allow_none=True, metadata={"description": "todo/done: the task"}
    )
    unread = ma.fields.Boolean(
        allow_none=True, metadata={"description": "cc: not opened yet (null in other boxes)"}
    )


InboxPage = page_of(InboxItemSchema, "ApprovalInboxPage")


class CountsSchema(ma.Schema):
    todo = ma.fields.Integer(metadata={"description": "Tasks waiting for a decision"})
    cc = ma.fields.Integer(metadata={"description": "CCs not opened yet"})
    submitted = ma.fields.Integer(metadata={"description": "Own submissions still in approval"})


class TaskSchema(ma.Schema):
    id = ma.fields.UUID()
    assignee = ma.fields.Nested(UserRefSchema)
    state = ma.fields.String(
        metadata={
            "description": "waiting (its turn has not come), pending, approved, "
            "rejected, transferred or cancelled"
        }
    )
    position = ma.fields.Integer(metadata={"description": "Order in a sequence"})
    added = ma.fields.Boolean(metadata={"description": "Added by 加签; must approve"})
    created_at = ma.fields.DateTime()
    decided_at = ma.fields.DateTime(allow_none=True)
    decided_by = ma.fields.Nested(
        UserRefSchema, allow_none=True, metadata={"description": "null: the system decided"}
    )


class StepSchema(ma.Schema):
    id = ma.fields.UUID()
    node_id = ma.fields.String()
    node_name = ma.fields.String()
    mode = ma.fields.String(
        validate=validate.OneOf(MODES),
        metadata={"description": "any (或签), all (会签), sequence or ratio"},
    )
    ratio = ma.fields.Integer(allow_none=True, metadata={"description": "Percent, mode ratio"})
    state = ma.fields.String(metadata={"description": ", ".join(STEP_STATES)})
    started_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
    due_at = ma.fields.DateTime(allow_none=True)
    overdue = ma.fields.Boolean()
    tasks = ma.fields.List(ma.fields.Nested(TaskSchema))


class FileSchema(ma.Schema):
    id = ma.fields.UUID(metadata={"description": "Give it in `attachment_ids`"})
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer(metadata={"description": "Bytes"})
    download_url = ma.fields.String()


class ActionSchema(ma.Schema):
    id = ma.fields.UUID()
    action = ma.fields.String(
        metadata={
            "description": "submitted, resubmitted, assigned, skipped, blocked, copied, "
            "automated, approved, rejected, sent_back, transferred, signer_added, commented, "
            "withdrawn, reminded, finished, ..."
        }
    )
    actor = ma.fields.Nested(
        UserRefSchema, allow_none=True, metadata={"description": "null: the system"}
    )
    node_id = ma.fields.String(allow_none=True)
    comment = ma.fields.String()
    attachments = ma.fields.List(ma.fields.Nested(FileSchema))
    detail = ma.fields.Dict(
        metadata={
            "description": 'What else: {"to": node id | "submitter" | user id} for a send '
            'back or transfer, {"user", "where"} for 加签, {"outcome"} when finished, ...'
        }
    )
    created_at = ma.fields.DateTime()


class CopySchema(ma.Schema):
    user = ma.fields.Nested(UserRefSchema)
    node_id = ma.fields.String()
    read_at = ma.fields.DateTime(allow_none=True)


class TargetSchema(ma.Schema):
    to = ma.fields.String(metadata={"description": '"submitter" or an approver node id'})
    name = ma.fields.String(metadata={"description": "The node's name"})


class AllowedSchema(ma.Schema):
    approve = ma.fields.Boolean()
    reject = ma.fields.Boolean()
    send_back = ma.fields.List(
        ma.fields.Nested(TargetSchema),
        metadata={"description": "Where it may be sent back to (empty: it may not)"},
    )
    transfer = ma.fields.Boolean()
    add_signer = ma.fields.Boolean()
    withdraw = ma.fields.Boolean()
    comment = ma.fields.Boolean()
    bulk = ma.fields.Boolean(metadata={"description": "May be approved with bulk-approve"})


class InstanceSchema(ma.Schema):
    id = ma.fields.UUID()
    record_type = ma.fields.String()
    record_id = ma.fields.String()
    title = ma.fields.String()
    state = ma.fields.String(metadata={"description": ", ".join(INSTANCE_STATES)})
    submitter = ma.fields.Nested(UserRefSchema)
    version = ma.fields.Integer(metadata={"description": "The flow version it runs on"})
    current_node = ma.fields.String(allow_none=True)
    current_node_name = ma.fields.String(allow_none=True)
    started_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
    values = ma.fields.Dict(
        metadata={
            "description": "The record's values when it was (re)submitted, as the viewer's "
            "field permissions show them: hidden fields left out, masked ones masked"
        }
    )
    steps = ma.fields.List(ma.fields.Nested(StepSchema), metadata={"description": "In order"})
    timeline = ma.fields.List(ma.fields.Nested(ActionSchema), metadata={"description": "In order"})
    copies = ma.fields.List(ma.fields.Nested(CopySchema), metadata={"description": "CC (抄送)"})
    allowed = ma.fields.Nested(
        AllowedSchema, metadata={"description": "What the client's staff member may do now"}
    )


# --- what is sent ----------------------------------------------------------------------------


class NoteArgs(ma.Schema):
    comment = ma.fields.String(load_default="", metadata={"description": "Up to 2000 characters"})
    attachment_ids = ma.fields.List(
        ma.fields.String(),
        load_default=list,
        metadata={
            "description": "Up to 10 files the staff member uploaded with "
            "POST /approvals/{id}/attachments"
        },
    )


class SendBackArgs(NoteArgs):
    to = ma.fields.String(
        required=True,
        metadata={"description": '"submitter", or an earlier approver node (allowed.send_back)'},
    )


class TransferArgs(NoteArgs):
    user_id = ma.fields.UUID(required=True, metadata={"description": "Who decides instead"})


class AddSignerArgs(NoteArgs):
    user_id = ma.fields.UUID(required=True, metadata={"description": "Who must approve too"})
    before = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "true: they approve before the staff member decides (前加签); "
            "false: after, and adding them counts as the staff member's approval (后加签)"
        },
    )


class BulkArgs(NoteArgs):
    ids = ma.fields.List(
        ma.fields.UUID(),
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Approvals' ids (1-100)"},
    )


class BulkResultSchema(ma.Schema):
    id = ma.fields.UUID()
    ok = ma.fields.Boolean()
    message = ma.fields.String(metadata={"description": "Why not, when not ok"})


BulkResults = ma.Schema.from_dict(
    {"results": ma.fields.List(ma.fields.Nested(BulkResultSchema))}, name="BulkApproveResults"
)
