"""``/api/v1/loans/{id}/early-repayment``: the quote (试算) and the posting of an early
repayment (提前还款), on the repayment plugin's blueprint. Thin adapters over ``early`` and
``early_post``; amounts are strings ("1000.00")."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import validate

from loandesk import sdk
from loandesk_repayment import early, early_post, statement
from loandesk_repayment.api import _idempotency_key, _loan, blp
from loandesk_repayment.checks import amount_of
from loandesk_repayment.early_models import EarlyRepayment
from loandesk_repayment.schemas import Amount, PaymentSchema

KIND = ma.fields.String(
    required=True,
    validate=validate.OneOf(early.KINDS),
    metadata={"description": "full (结清) or partial (部分提前还款)"},
)
RECALCULATION = ma.fields.String(
    load_default=None,
    allow_none=True,
    metadata={
        "description": "Partial only: shorten_term (same installment, fewer periods) or "
        "lower_installment (same periods, smaller installment); the product says which"
    },
)


class EarlyQuoteArgs(ma.Schema):
    kind = KIND
    repaid_on = ma.fields.Raw(required=True, metadata={"description": "ISO date of repayment"})
    amount = ma.fields.Raw(
        load_default=None,
        allow_none=True,
        metadata={"description": 'Partial only: what the borrower pays, a string "5000.00"'},
    )


class EarlyRepayArgs(EarlyQuoteArgs):
    amount = ma.fields.Raw(required=True, metadata={"description": 'A string: "5000.00"'})
    recalculation = RECALCULATION
    reference = ma.fields.String(load_default=None, allow_none=True)


class EarlyInstallmentSchema(ma.Schema):
    number = ma.fields.Integer()
    period_start = ma.fields.Date()
    due_date = ma.fields.Date()
    principal = Amount
    interest = Amount
    fees = Amount
    total = Amount
    balance = Amount


class EarlyOptionSchema(ma.Schema):
    recalculation = ma.fields.String()
    periods_before = ma.fields.Integer()
    periods_after = ma.fields.Integer()
    installment_before = Amount
    installment_after = Amount
    interest_before = Amount
    interest_after = Amount
    installments = ma.fields.List(ma.fields.Nested(EarlyInstallmentSchema))


class EarlyQuoteSchema(ma.Schema):
    kind = ma.fields.String()
    repaid_on = ma.fields.Date()
    due = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "Owed by part on installments due by that day"},
    )
    due_total = Amount
    principal = Amount
    interest = Amount
    fee = Amount
    credit = Amount
    total = Amount
    left_over = Amount
    remaining_principal = Amount
    current_number = ma.fields.Integer()
    period_start = ma.fields.Date()
    days = ma.fields.Integer()
    options = ma.fields.List(ma.fields.Nested(EarlyOptionSchema))


class EarlyRepaymentRecordSchema(ma.Schema):
    id = ma.fields.UUID()
    loan_id = ma.fields.UUID()
    kind = ma.fields.String()
    recalculation = ma.fields.String(allow_none=True)
    repaid_on = ma.fields.Date()
    amount = Amount
    credit_used = Amount
    arrears = Amount
    principal = Amount
    interest = Amount
    fee = Amount
    interest_waived = Amount
    fees_waived = Amount
    periods_before = ma.fields.Integer()
    periods_after = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "posted or reversed"})
    payment = ma.fields.Nested(PaymentSchema)


def present_quote(quoted: early.Quote) -> dict[str, Any]:
    shown: dict[str, Any] = {
        k: getattr(quoted, k)
        for k in (
            "kind", "due_total", "principal", "interest", "fee", "credit", "total", "left_over",
            "remaining_principal", "current_number", "period_start", "days",
        )
    }  # fmt: skip
    shown["repaid_on"] = quoted.on
    shown["due"] = {k: f"{v:.2f}" for k, v in quoted.due.items()}
    shown["options"] = [
        {
            **{k: getattr(o, k) for k in EarlyOptionSchema().fields if k != "installments"},
            "installments": [
                {
                    "number": quoted.current_number + i,
                    "period_start": row.period_start,
                    "due_date": row.due_date,
                    "principal": row.principal,
                    "interest": row.interest,
                    "fees": fees,
                    "total": row.principal + row.interest + fees,
                    "balance": row.balance,
                }
                for i, (row, fees) in enumerate(zip(o.installments, o.fees, strict=True), 1)
            ],
        }
        for o in quoted.options
    ]
    return shown


def present(record: EarlyRepayment, payment: dict[str, Any]) -> dict[str, Any]:
    shown = {k: getattr(record, k) for k in EarlyRepaymentRecordSchema().fields if k != "payment"}
    return {**shown, "payment": payment}


def quote_for(loan: Any, args: dict[str, Any]) -> early.Quote:
    """The quote ``args`` ask for (shared with the web form)."""
    day = early_post.repaid_on(args["repaid_on"], loan, future=True)
    raw = args.get("amount")
    amount = (
        amount_of(raw, "amount") if args["kind"] == "partial" and raw not in (None, "") else None
    )
    return early.quote(sdk.session(), loan, day, kind=args["kind"], amount=amount)


@blp.route("/<uuid:loan_id>/early-repayment/quote")
class EarlyRepaymentQuote(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(EarlyQuoteArgs)
    @blp.response(200, EarlyQuoteSchema)
    @blp.alt_response(409, description="The loan is not active, its product does not allow "
                      "early repayment, or too few installments are paid")  # fmt: skip
    @blp.alt_response(422, description="repaid_on, or amount (does not cover what is due)")
    def post(self, args: dict[str, Any], loan_id: uuid.UUID) -> dict[str, Any]:
        """Quote (试算) repaying the loan early on ``repaid_on``. ``full``: what settles it —
        what is due that day, the principal left, its interest accrued in the current period
        by the product's day count (never the whole period), the early repayment fee
        (``fee_percent`` of the principal repaid early), minus the credit balance (``total``).
        ``partial`` with ``amount``: how the amount splits, and the new schedule under each
        recalculation the product offers (``options``). Posts nothing."""
        sdk.acting_user_with("repayment.post")
        return present_quote(quote_for(_loan(loan_id), args))


@blp.route("/<uuid:loan_id>/early-repayment")
class EarlyRepaymentPost(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(EarlyRepayArgs)
    @blp.response(201, EarlyRepaymentRecordSchema)
    @blp.alt_response(200, description="An Idempotency-Key posted before: that repayment")
    @blp.alt_response(409, description="The key was used for another request; the loan is "
                      "not active; its product does not allow early repayment or too few "
                      "installments are paid")  # fmt: skip
    @blp.alt_response(422, description="amount (does not cover the quote), repaid_on, kind, "
                      "recalculation (not offered by the product), reference")  # fmt: skip
    def post(self, args: dict[str, Any], loan_id: uuid.UUID) -> Any:
        """Repay the loan early (提前还款) on ``repaid_on`` (not in the future): posted as a
        payment (reversing it puts the schedule back), the installments not yet due are
        superseded by the repayment's own line and, for ``partial``, the new schedule; a
        ``full`` one settles the loan. Send an ``Idempotency-Key``: the same request again
        answers 200 with what it posted (``Idempotent-Replayed: true``)."""
        sdk.acting_user_with("repayment.post")
        session = sdk.session()
        posted = early_post.early_repay(
            session,
            _loan(loan_id),
            args["amount"],
            args["repaid_on"],
            kind=args["kind"],
            recalculation=args["recalculation"],
            idempotency_key=_idempotency_key(),
            posted_by=sdk.acting_user().id,
            source="api",
            reference=args["reference"],
        )
        shown = present(posted.early_repayment, statement.present_payment(session, posted.payment))
        session.commit()
        if posted.replayed:
            return shown, 200, {"Idempotent-Replayed": "true"}
        return shown
