"""Marshmallow schemas of ``/api/v1/collections``. Amounts are strings ("1000.00")."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from loandesk import sdk
from loandesk_collections.models import ACTION_KINDS, BALANCING, CASE_STATUSES, OUTCOMES

Amount = ma.fields.Decimal(as_string=True, places=2)


class CollectionCaseListArgs(sdk.PageArgs):
    status = ma.fields.String(load_default="open", validate=validate.OneOf((*CASE_STATUSES, "all")))
    queue_id = ma.fields.UUID(load_default=None)
    bucket = ma.fields.String(load_default=None, validate=validate.Length(max=10))
    mine = ma.fields.Boolean(load_default=False, metadata={"description": "Only my cases"})


class CollectionCaseSchema(ma.Schema):
    id = ma.fields.UUID()
    loan_id = ma.fields.UUID()
    loan_number = ma.fields.String()
    customer_id = ma.fields.UUID()
    product_code = ma.fields.String()
    status = ma.fields.String(metadata={"description": "open or closed"})
    early = ma.fields.Boolean(metadata={"description": "Assigned before it was overdue"})
    business_date = ma.fields.Date(allow_none=True)
    days_past_due = ma.fields.Integer()
    bucket = ma.fields.String()
    overdue_principal = Amount
    overdue_amount = Amount
    principal_outstanding = Amount
    queue_id = ma.fields.UUID(allow_none=True)
    agency_id = ma.fields.UUID(allow_none=True)
    owner_id = ma.fields.UUID(allow_none=True, metadata={"description": "The collector"})
    opened_at = ma.fields.DateTime()
    closed_at = ma.fields.DateTime(allow_none=True)


class CollectionActionSchema(ma.Schema):
    id = ma.fields.UUID()
    kind = ma.fields.String()
    outcome = ma.fields.String()
    contact = ma.fields.String()
    note = ma.fields.String()
    user_id = ma.fields.UUID()
    created_at = ma.fields.DateTime()


class CollectionActionWriteSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=validate.OneOf(ACTION_KINDS))
    outcome = ma.fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    contact = ma.fields.String(load_default="", metadata={"description": "Who was reached"})
    note = ma.fields.String(load_default="")


class CollectionPromiseSchema(ma.Schema):
    id = ma.fields.UUID()
    amount = Amount
    promised_on = ma.fields.Date()
    paid = Amount
    status = ma.fields.String(metadata={"description": "open, kept or broken"})
    note = ma.fields.String()
    made_by_id = ma.fields.UUID()
    created_at = ma.fields.DateTime()
    resolved_at = ma.fields.DateTime(allow_none=True)


class CollectionPromiseWriteSchema(ma.Schema):
    amount = ma.fields.Raw(required=True, metadata={"description": 'Amount, e.g. "500.00"'})
    promised_on = ma.fields.Raw(required=True, metadata={"description": "ISO date"})
    note = ma.fields.String(load_default="")


class CollectionAssignmentSchema(ma.Schema):
    id = ma.fields.UUID()
    queue_id = ma.fields.UUID(allow_none=True)
    agency_id = ma.fields.UUID(allow_none=True)
    collector_id = ma.fields.UUID(allow_none=True)
    bucket = ma.fields.String()
    reason = ma.fields.String(metadata={"description": "opened, rolled, early, manual, reopened"})
    started_at = ma.fields.DateTime()
    ended_at = ma.fields.DateTime(allow_none=True)
    actions = ma.fields.Integer()
    promises_made = ma.fields.Integer()
    promises_kept = ma.fields.Integer()
    promises_broken = ma.fields.Integer()
    collected = Amount


class CollectionAssignWriteSchema(ma.Schema):
    queue_id = ma.fields.UUID(required=True)
    collector_id = ma.fields.UUID(load_default=None)


class CollectionInstallmentSchema(ma.Schema):
    number = ma.fields.Integer()
    due_date = ma.fields.Date()
    principal_due = Amount
    interest_due = Amount
    fees_due = Amount
    penalty_due = Amount
    paid = Amount
    outstanding = Amount
    status = ma.fields.String()


class CollectionPaymentLineSchema(ma.Schema):
    id = ma.fields.UUID()
    received_on = ma.fields.Date()
    amount = Amount
    status = ma.fields.String()
    reference = ma.fields.String(allow_none=True)


class CollectionContactPersonSchema(ma.Schema):
    name = ma.fields.String()
    relation = ma.fields.String()
    phone = ma.fields.String(allow_none=True)


class CollectionBorrowerSchema(ma.Schema):
    name = ma.fields.String()
    phones = ma.fields.List(ma.fields.String())
    address = ma.fields.String(allow_none=True)
    contacts = ma.fields.List(ma.fields.Nested(CollectionContactPersonSchema))
    masked = ma.fields.List(ma.fields.String(), metadata={"description": "Fields shown masked"})


class CollectionCaseDetailSchema(CollectionCaseSchema):
    borrower = ma.fields.Nested(CollectionBorrowerSchema, allow_none=True)
    installments = ma.fields.List(ma.fields.Nested(CollectionInstallmentSchema))
    payments = ma.fields.List(ma.fields.Nested(CollectionPaymentLineSchema))
    actions = ma.fields.List(ma.fields.Nested(CollectionActionSchema))
    promises = ma.fields.List(ma.fields.Nested(CollectionPromiseSchema))
    assignments = ma.fields.List(ma.fields.Nested(CollectionAssignmentSchema))
    script = ma.fields.String(allow_none=True, metadata={"description": "话术 of the bucket"})


class CollectionQueueSchema(ma.Schema):
    id = ma.fields.UUID()
    code = ma.fields.String()
    name = ma.fields.String()
    agency_id = ma.fields.UUID(allow_none=True)
    balancing = ma.fields.String()
    active = ma.fields.Boolean()
    members = ma.fields.List(ma.fields.UUID())
    open_cases = ma.fields.Integer()


class CollectionQueueWriteSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    balancing = ma.fields.String(load_default="round_robin", validate=validate.OneOf(BALANCING))
    agency_id = ma.fields.UUID(load_default=None)
    members = ma.fields.List(ma.fields.UUID(), load_default=list)


class CollectionMembersWriteSchema(ma.Schema):
    members = ma.fields.List(ma.fields.UUID(), required=True)


class CollectionRuleSchema(ma.Schema):
    id = ma.fields.UUID()
    position = ma.fields.Integer()
    name = ma.fields.String()
    queue_id = ma.fields.UUID()
    buckets = ma.fields.String()
    product_codes = ma.fields.String()
    min_overdue = ma.fields.Decimal(as_string=True, places=2, allow_none=True)
    max_overdue = ma.fields.Decimal(as_string=True, places=2, allow_none=True)
    org_unit_id = ma.fields.UUID(allow_none=True)
    active = ma.fields.Boolean()


class CollectionRuleWriteSchema(ma.Schema):
    name = ma.fields.String(required=True)
    queue_id = ma.fields.UUID(required=True)
    position = ma.fields.Integer(load_default=None)
    buckets = ma.fields.String(load_default="", metadata={"description": 'e.g. "M1, M2"'})
    product_codes = ma.fields.String(load_default="")
    min_overdue = ma.fields.Raw(load_default=None)
    max_overdue = ma.fields.Raw(load_default=None)
    org_unit_id = ma.fields.UUID(load_default=None)


class CollectionAgencySchema(ma.Schema):
    id = ma.fields.UUID()
    code = ma.fields.String()
    name = ma.fields.String()
    active = ma.fields.Boolean()
    users = ma.fields.List(ma.fields.UUID())


class CollectionAgencyWriteSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class CollectionAgencyUserWriteSchema(ma.Schema):
    user_id = ma.fields.UUID(required=True)


class CollectionScriptSchema(ma.Schema):
    bucket = ma.fields.String()
    body = ma.fields.String()


class CollectionScriptWriteSchema(ma.Schema):
    body = ma.fields.String(required=True, metadata={"description": "Empty: removed"})
