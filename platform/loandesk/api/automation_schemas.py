"""Schemas of ``/api/v1/automations``: rules, their run log, dry runs and the catalog."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from loandesk.api.schemas import MAX_PAGE, page_of

TRIGGER_HELP = (
    'When the rule runs: {"kind": "event", "event": "application.approved"} (an event of the '
    'record type, or an approval event; on an update event "field": "stage" waits for a change '
    'of that field) or {"kind": "relative", "field": "sign_by", "days": '
    '-2, "at": "09:00"} (days from a date field of the record — negative: before it — at a '
    'time of day, tenant time) or {"kind": "schedule", "cron": "0 9 * * 1", "filters": '
    '["stage:eq:documents"]} (a 5-field cron in tenant time, at most every 15 minutes, over '
    "the records the filters select, written as lists and saved views write them; none: every "
    "record). Problems are keyed `trigger`, `trigger.cron`, `trigger.filter.<n>`."
)
ACTIONS_HELP = (
    "What the rule does, in order; each has `type` and its parameters. set_field: `field` "
    "(a custom field of the form), `value`. create_todo: `title` and optional `note` (Jinja "
    "templates naming the record's fields, `title` and `today`), `assignee` "
    '({"kind": "owner"} | {"kind": "role", "role": key} | {"kind": "user", "user": id}), '
    'optional `due` ({"days": n, "at": "HH:MM"} from today, or with `field`: from a date '
    "field). start_flow: no parameters (submits the record for approval with its record "
    "type's published flow, the record's owner as submitter; record types with approval "
    "only). webhook: `url` (https; POSTs the record as JSON signed with the tenant's webhook "
    "secret). Plugins add their own types (see /automations/catalog)."
)


class RuleWriteSchema(ma.Schema):
    name = ma.fields.String(required=True, metadata={"description": "1-100 characters, unique"})
    record_type = ma.fields.String(required=True, metadata={"description": "e.g. application"})
    trigger = ma.fields.Dict(required=True, metadata={"description": TRIGGER_HELP})
    condition = ma.fields.String(
        load_default="",
        metadata={"description": "An expression on the record's fields (empty: always)"},
    )
    actions = ma.fields.List(
        ma.fields.Dict(), required=True, metadata={"description": ACTIONS_HELP}
    )
    enabled = ma.fields.Boolean(load_default=True)


class EnabledArgs(ma.Schema):
    enabled = ma.fields.Boolean(required=True)


class RuleSchema(ma.Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    record_type = ma.fields.String()
    trigger = ma.fields.Dict(metadata={"description": TRIGGER_HELP})
    condition = ma.fields.String()
    actions = ma.fields.List(ma.fields.Dict(), metadata={"description": ACTIONS_HELP})
    enabled = ma.fields.Boolean()
    version = ma.fields.Integer(metadata={"description": "Grows with each change"})
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    updated_by_id = ma.fields.UUID(allow_none=True)


RulePage = page_of(RuleSchema, "RulePage")


class RuleListArgs(ma.Schema):
    record_type = ma.fields.String(load_default=None)
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = ma.fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class RunSchema(ma.Schema):
    id = ma.fields.UUID()
    rule_id = ma.fields.UUID()
    rule_version = ma.fields.Integer()
    record_type = ma.fields.String()
    record_id = ma.fields.String()
    occurrence = ma.fields.String(
        metadata={"description": "What fired it: the event's id, or the date it was due on"}
    )
    state = ma.fields.String(metadata={"description": "pending, done or failed"})
    next_action = ma.fields.Integer(metadata={"description": "How many actions are done"})
    attempts = ma.fields.Integer()
    last_error = ma.fields.String()
    results = ma.fields.List(ma.fields.Dict())
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)


RunPage = page_of(RunSchema, "RunPage")


class RunListArgs(ma.Schema):
    state = ma.fields.String(
        load_default=None, validate=validate.OneOf(("pending", "done", "failed"))
    )
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = ma.fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class DryRunArgs(ma.Schema):
    record_id = ma.fields.UUID(required=True)


class DryRunSchema(ma.Schema):
    holds = ma.fields.Boolean(metadata={"description": "Whether the condition holds now"})
    actions = ma.fields.List(
        ma.fields.Dict(),
        metadata={"description": "Each action with its parameters, texts rendered"},
    )


class CatalogArgs(ma.Schema):
    record_type = ma.fields.String(required=True)


class NamedSchema(ma.Schema):
    key = ma.fields.String()
    label_zh = ma.fields.String()
    label_en = ma.fields.String()


class CatalogSchema(ma.Schema):
    events = ma.fields.List(ma.fields.Nested(NamedSchema))
    actions = ma.fields.List(ma.fields.Nested(NamedSchema))
    field_kinds = ma.fields.Dict(
        data_key="fields",
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "Fields conditions and templates may name, with their kinds"},
    )
    date_fields = ma.fields.List(ma.fields.String())
