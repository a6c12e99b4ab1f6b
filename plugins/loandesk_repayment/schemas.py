"""Marshmallow schemas of the loans API. Amounts are strings with two decimals ("1000.00"),
never JSON numbers; funder shares are strings too ("0.7")."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from loandesk import sdk
from loandesk_repayment.models import LOAN_STATUSES

Amount = ma.fields.Decimal(as_string=True, places=2)


class FunderShareSchema(ma.Schema):
    funder_id = ma.fields.UUID()
    code = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "own (自有资金) or partner"})
    share = ma.fields.String(metadata={"description": 'A fraction: "0.7"'})


class FunderSchema(ma.Schema):
    id = ma.fields.UUID()
    code = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String()


class FunderWriteSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(load_default="partner", validate=validate.OneOf(("own", "partner")))


class InstallmentSchema(ma.Schema):
    id = ma.fields.UUID()
    number = ma.fields.Integer()
    period_start = ma.fields.Date()
    due_date = ma.fields.Date()
    principal_due = Amount
    interest_due = Amount
    fees_due = Amount
    penalty_due = Amount
    principal_paid = Amount
    interest_paid = Amount
    fees_paid = Amount
    penalty_paid = Amount
    status = ma.fields.String(metadata={"description": "pending, partial or paid"})
    paid_on = ma.fields.Date(allow_none=True)
    days_past_due = ma.fields.Integer(metadata={"description": "As of the last close of business"})
    overdue_since = ma.fields.Date(
        allow_none=True, metadata={"description": "Its first overdue day, once it was overdue"}
    )


class AllocationSchema(ma.Schema):
    installment_id = ma.fields.UUID(allow_none=True)
    installment_number = ma.fields.Integer(allow_none=True)
    part = ma.fields.String(metadata={"description": "penalty, fees, interest, principal, credit"})
    amount = Amount
    reversal = ma.fields.Boolean()


class PaymentSchema(ma.Schema):
    id = ma.fields.UUID()
    loan_id = ma.fields.UUID()
    sequence = ma.fields.Integer(metadata={"description": "The loan's payments in posting order"})
    amount = Amount
    to_credit = Amount
    received_on = ma.fields.Date()
    source = ma.fields.String()
    reference = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"description": "posted or reversed"})
    posted_at = ma.fields.DateTime()
    reversed_at = ma.fields.DateTime(allow_none=True)
    reversal_reason = ma.fields.String(allow_none=True)
    allocations = ma.fields.List(ma.fields.Nested(AllocationSchema))


class PaymentWriteSchema(ma.Schema):
    amount = ma.fields.Raw(required=True, metadata={"description": 'A string: "1000.00"'})
    received_on = ma.fields.Raw(required=True, metadata={"description": "ISO date"})
    reference = ma.fields.String(load_default=None, allow_none=True)


class ReversalSchema(ma.Schema):
    reason = ma.fields.String(required=True)


class LoanSchema(sdk.RecordSchema):
    """The loan's values; the tenant's own fields pass through under their keys."""

    id = ma.fields.UUID()
    number = ma.fields.String()
    customer_id = ma.fields.UUID()
    application_id = ma.fields.UUID(allow_none=True)
    product_id = ma.fields.UUID()
    product_version = ma.fields.Integer()
    principal = Amount
    periods = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "pending, active, settled or written_off"})
    disbursed_on = ma.fields.Date(allow_none=True)
    settled_on = ma.fields.Date(allow_none=True)
    annual_rate_irr = ma.fields.String(
        allow_none=True, metadata={"description": "年化利率(IRR) with every fee, a fraction"}
    )
    credit_balance = Amount
    cob_date = ma.fields.Date(
        allow_none=True, metadata={"description": "Business date of its last close of business"}
    )
    days_past_due = ma.fields.Integer(metadata={"description": "DPD (逾期天数) at cob_date"})
    bucket = ma.fields.String(metadata={"description": "DPD bucket at cob_date: M0, M1, ..."})
    overdue_principal = Amount
    overdue_amount = Amount
    owner_id = ma.fields.UUID()
    org_unit_id = ma.fields.UUID()
    outstanding = ma.fields.Dict(metadata={"description": "What is still owed, by part"})
    terms = ma.fields.Dict(metadata={"description": "The loan's schedule terms"})
    product_terms = ma.fields.Dict(metadata={"description": "The product version's terms"})
    funders = ma.fields.List(ma.fields.Nested(FunderShareSchema))
    installments = ma.fields.List(
        ma.fields.Nested(InstallmentSchema), metadata={"description": "One loan only"}
    )


class LoanWriteSchema(sdk.RecordWriteSchema):
    """Built-in fields below; the tenant's own loan fields are accepted under their keys and
    checked by its published loan form (422 naming the field)."""

    customer_id = ma.fields.Raw(required=True)
    product_id = ma.fields.Raw(required=True)
    product_version = ma.fields.Integer(
        load_default=None, metadata={"description": "Default: the version in force"}
    )
    principal = ma.fields.Raw(required=True, metadata={"description": 'A string: "50000.00"'})
    periods = ma.fields.Raw(required=True)
    application_id = ma.fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The approved application (借款申请) the loan is booked from: same "
            "customer, principal at most its amount, one loan per application"
        },
    )
    owner_id = ma.fields.UUID(
        load_default=None, metadata={"description": "The credit officer; default: the caller"}
    )
    funders = ma.fields.List(
        ma.fields.Dict(),
        load_default=None,
        metadata={
            "description": 'e.g. [{"code": "OWN", "share": "0.3"}, {"funder_id": "…", '
            '"share": "0.7"}]; shares add up to exactly 1; default: own funds'
        },
    )
    disbursed_on = ma.fields.Date(
        load_default=None,
        metadata={"description": "Given: the loan is activated (paid out) on that date too"},
    )
    maturity_date = ma.fields.Date(
        load_default=None,
        metadata={"description": "A single-payment product's loan: its one due date"},
    )


class ActivateSchema(ma.Schema):
    disbursed_on = ma.fields.Date(required=True)


class LoanListArgs(sdk.PageArgs):
    status = ma.fields.String(load_default=None, validate=validate.OneOf(LOAN_STATUSES))
    customer_id = ma.fields.UUID(load_default=None)


class StatementLineSchema(ma.Schema):
    date = ma.fields.Date()
    kind = ma.fields.String(metadata={"description": "installment, payment or reversal"})
    description = ma.fields.String()
    due = Amount
    paid = Amount
    balance = Amount


class StatementLoanSchema(LoanSchema):
    """The loan at the head of a statement: without its schedule and terms (named, so the
    OpenAPI document has one ``Loan`` schema and this one, not ``Loan`` and ``Loan1``)."""

    class Meta:
        exclude = ("installments", "terms", "product_terms")


class StatementSchema(ma.Schema):
    loan = ma.fields.Nested(StatementLoanSchema)
    opening = ma.fields.Dict()
    lines = ma.fields.List(ma.fields.Nested(StatementLineSchema))
    closing = ma.fields.Dict()
