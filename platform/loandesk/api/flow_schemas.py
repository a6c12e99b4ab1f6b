"""Schemas of ``/api/v1/flows``: flow summaries, drafts with their problems, versions and
test runs."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from loandesk.api.approval_schemas import UserRefSchema
from loandesk.api.schemas import page_of

NODES_HELP = (
    "The tree: a list of nodes after the start. Each node has `id` (a letter, then letters, "
    "digits, _ or -; unique in the tree), `type` and `name`. approver: `assignees` (a list of "
    '{"kind": "user", "user": id} | {"kind": "role", "role": key} | {"kind": "unit_head", '
    '"unit": id} | {"kind": "manager", "levels": 1-10} | {"kind": "field", "field": key}), '
    "`mode` any (或签) / all (会签) / sequence / ratio (with `ratio` 1-100), `when_empty` "
    'skip / admin / block, optional `deadline` ({"kind": "hours" | "working_hours" | '
    '"working_days", "amount": n} or {"kind": "field", "field": key}) with `on_timeout` '
    "remind / approve / reject / transfer (with `timeout_user`), `bulk` (may be approved in "
    "bulk). branch: `branches`, each with `id`, `name`, `condition` (an expression on the "
    "form's fields, e.g. `amount >= 50000`) or `default: true`, and `nodes`. cc: `assignees`. "
    "automation: `action` set_field, `field`, `value`. end: `outcome` approved / rejected. "
    "Reaching the end of the list approves."
)


class FlowSummarySchema(ma.Schema):
    record_type = ma.fields.String(metadata={"description": "The record type's key"})
    label_zh = ma.fields.String()
    label_en = ma.fields.String()
    name = ma.fields.String(metadata={"description": "The flow's name"})
    published_version = ma.fields.Integer(
        allow_none=True, metadata={"description": "The version in force (null: none published)"}
    )
    unpublished_changes = ma.fields.Boolean(
        metadata={"description": "The draft differs from the version in force"}
    )
    updated_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "When the draft was last saved"}
    )
    updated_by_id = ma.fields.UUID(allow_none=True)


class FlowDraftSchema(FlowSummarySchema):
    nodes = ma.fields.List(ma.fields.Dict(), metadata={"description": NODES_HELP})
    problems = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={
            "description": "What stands between the draft and publishing, by node or branch "
            "id (`nodes` for the tree as a whole); empty when it can be published"
        },
    )


class DraftArgs(ma.Schema):
    name = ma.fields.String(
        load_default=None, metadata={"description": "1-100 characters; unchanged when left out"}
    )
    nodes = ma.fields.List(ma.fields.Raw(), required=True, metadata={"description": NODES_HELP})


class PublishArgs(ma.Schema):
    note = ma.fields.String(
        load_default="",
        validate=validate.Length(max=200),
        metadata={"description": "What changed, for the version list"},
    )


class FlowVersionSchema(ma.Schema):
    number = ma.fields.Integer()
    name = ma.fields.String()
    note = ma.fields.String()
    published_at = ma.fields.DateTime()
    published_by_id = ma.fields.UUID(allow_none=True)
    in_force = ma.fields.Boolean(metadata={"description": "New approvals start on it"})


class FlowVersionTreeSchema(FlowVersionSchema):
    nodes = ma.fields.List(ma.fields.Dict(), metadata={"description": NODES_HELP})


VersionPage = page_of(FlowVersionSchema, "FlowVersionPage")
FlowList = ma.Schema.from_dict(
    {"items": ma.fields.List(ma.fields.Nested(FlowSummarySchema))}, name="FlowList"
)


class TestRunArgs(ma.Schema):
    values = ma.fields.Dict(
        keys=ma.fields.String(),
        load_default=dict,
        metadata={
            "description": "Field values of a sample record, as the record's API takes them "
            '(`{"amount": "80000.00"}`); fields left out are empty'
        },
    )
    submitter_id = ma.fields.UUID(
        load_default=None,
        metadata={
            "description": "Who submits (for manager assignees); default: the client's staff member"
        },
    )
    nodes = ma.fields.List(
        ma.fields.Raw(),
        load_default=None,
        metadata={"description": "A tree to run instead of the saved draft"},
    )


class StopSchema(ma.Schema):
    node_id = ma.fields.String()
    type = ma.fields.String(metadata={"description": "approver, branch, cc, automation or end"})
    name = ma.fields.String()
    branch_id = ma.fields.String(
        allow_none=True, metadata={"description": "At a branch node: the branch taken"}
    )
    branch_name = ma.fields.String(allow_none=True)
    users = ma.fields.List(
        ma.fields.Nested(UserRefSchema),
        metadata={"description": "Who an approver or CC node would go to"},
    )
    note = ma.fields.String(
        metadata={
            "description": "When nobody resolves at an approver node: skip (passed over), "
            "admin (goes to the tenant admins) or block (waits for a flow manager); else empty"
        }
    )


class TestRunSchema(ma.Schema):
    outcome = ma.fields.String(metadata={"description": "approved or rejected"})
    stops = ma.fields.List(ma.fields.Nested(StopSchema), metadata={"description": "In order"})
