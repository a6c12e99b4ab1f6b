"""``/api/v1/loans``: loans, their payments (posted with an ``Idempotency-Key``), reversals,
the statement of account and the funder catalogue. Thin adapters over ``loans``, ``payments``
and ``statement``; amounts are strings ("1000.00")."""

from __future__ import annotations

import uuid
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from loandesk import sdk
from loandesk_repayment import funders, loans, payments, statement
from loandesk_repayment.models import Loan, Payment
from loandesk_repayment.schemas import (
    ActivateSchema,
    FunderSchema,
    FunderWriteSchema,
    LoanListArgs,
    LoanSchema,
    LoanWriteSchema,
    PaymentSchema,
    PaymentWriteSchema,
    ReversalSchema,
    StatementSchema,
)

blp = Blueprint(
    "repayment",
    __name__,
    url_prefix="/loans",
    description="Loans (贷款) after booking: schedule, payments (还款), reversals (冲正), "
    "statement of account (对账单) and funders (资金方).",
)


def _idempotency_key() -> str | None:
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    key = raw.strip()
    if not 1 <= len(key) <= 100 or not key.isprintable():
        raise sdk.ValidationFailed(
            sdk.N_("Some fields need attention."),
            errors={"Idempotency-Key": [sdk.message(sdk.N_("Send 1 to 100 characters."))]},
        )
    return key


def _loan(loan_id: uuid.UUID) -> Loan:
    """The loan, 404 outside the acting staff member's data scope."""
    return loans.get_loan(sdk.session(), loan_id, sdk.record_access("loan"))


@blp.route("")
class Loans(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(LoanListArgs, location="query")
    @blp.response(200, sdk.page_of(LoanSchema, "LoanPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Loans, newest first (without their installments)."""
        sdk.acting_user_with("repayment.view")
        session, access = sdk.session(), sdk.record_access("loan")
        query = access.where(select(Loan))
        if args["status"]:
            query = query.where(Loan.status == args["status"])
        if args["customer_id"]:
            query = query.where(Loan.customer_id == args["customer_id"])
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page, per_page = args["page"], args["per_page"]
        found = session.scalars(
            query.order_by(Loan.created_at.desc(), Loan.number.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        items = [statement.present_loan(session, loan, full=False, access=access) for loan in found]
        access.audit_shown(session)
        session.commit()
        return {"items": items, "page": page, "per_page": per_page, "total": total}

    @sdk.require_token("records:write")
    @blp.arguments(LoanWriteSchema)
    @blp.response(201, LoanSchema)
    @blp.alt_response(422, description="A field is wrong, named in errors: customer_id, "
                      "product_id, principal or periods outside the product's ranges, "
                      "annual_rate (the IRR with fees over the tenant's cap), funders; "
                      "application_id (no such application in this firm, or another "
                      "customer's); principal over the application's approved amount")  # fmt: skip
    @blp.alt_response(409, description="application_id: the application is not approved, "
                      "or a loan was already booked from it (two at once included)")  # fmt: skip
    @blp.alt_response(200, description="An Idempotency-Key used before: that loan, unchanged")
    def post(self, args: dict[str, Any]) -> Any:
        """Book a loan (pending) on a product version's terms. With ``application_id`` it is
        booked from that application, which must be of this firm, approved, of the same
        customer, for at least the principal, and not booked before: one loan per
        application. Once the loan's contract is signed the application becomes
        ``contracted``. With ``disbursed_on`` it is activated too: its schedule is built from
        that date (migrating an existing loan book). ``Idempotency-Key``: the same key again
        answers the loan it booked."""
        sdk.acting_user_with("repayment.loans.book")
        session, access = sdk.session(), sdk.record_access("loan")
        key = _idempotency_key()
        if key and (earlier := loans.find_by_key(session, key)) is not None:
            shown = statement.present_loan(session, earlier, access=access)
            return shown, 200, {"Idempotent-Replayed": "true"}
        builtin = set(LoanWriteSchema().fields)
        loan = loans.book(
            session,
            customer_id=args["customer_id"],
            product_id=args["product_id"],
            product_version=args["product_version"],
            principal=args["principal"],
            periods=args["periods"],
            application_id=args["application_id"],
            funders=args["funders"],
            expected_on=args["disbursed_on"],
            maturity_date=args["maturity_date"],
            booked_by=sdk.acting_user().id,
            owner_id=args["owner_id"],
            custom={k: v for k, v in args.items() if k not in builtin},
            access=access,
            idempotency_key=key,
        )
        if args["disbursed_on"] is not None:
            loans.activate(session, loan, args["disbursed_on"])
        shown = statement.present_loan(session, loan, access=access)
        session.commit()
        return shown


@blp.route("/<uuid:loan_id>")
class LoanById(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, LoanSchema)
    def get(self, loan_id: uuid.UUID) -> dict[str, Any]:
        """One loan with its terms, funders and installments."""
        sdk.acting_user_with("repayment.view")
        session, access = sdk.session(), sdk.record_access("loan")
        shown = statement.present_loan(session, _loan(loan_id), access=access)
        access.audit_shown(session)
        session.commit()
        return shown


@blp.route("/<uuid:loan_id>/activate")
class Activate(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(ActivateSchema)
    @blp.response(200, LoanSchema)
    @blp.alt_response(409, description="The loan is not pending")
    def post(self, args: dict[str, Any], loan_id: uuid.UUID) -> dict[str, Any]:
        """Activate a pending loan paid out on ``disbursed_on``: the schedule is built from
        that date and the receivables booked."""
        sdk.acting_user_with("repayment.loans.book")
        session = sdk.session()
        loan = _loan(loan_id)
        loans.activate(session, loan, args["disbursed_on"])
        shown = statement.present_loan(session, loan, access=sdk.record_access("loan"))
        session.commit()
        return shown


@blp.route("/<uuid:loan_id>/payments")
class Payments(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, PaymentSchema(many=True))
    def get(self, loan_id: uuid.UUID) -> list[dict[str, Any]]:
        """The loan's payments in posting order, with their allocations."""
        sdk.acting_user_with("repayment.view")
        session = sdk.session()
        loan = _loan(loan_id)
        return [statement.present_payment(session, p) for p in payments.payments_of(session, loan)]

    @sdk.require_token("records:write")
    @blp.arguments(PaymentWriteSchema)
    @blp.response(201, PaymentSchema)
    @blp.alt_response(200, description="An Idempotency-Key posted before: that payment")
    @blp.alt_response(409, description="The key was used for another request, or the loan "
                      "is not active")  # fmt: skip
    @blp.alt_response(422, description="amount, received_on or reference is wrong")
    def post(self, args: dict[str, Any], loan_id: uuid.UUID) -> Any:
        """Post a payment received for the loan: allocated to the installments due on
        ``received_on``, oldest first, by the product's allocation order; anything beyond is
        kept as the loan's credit balance (溢缴款). Send an ``Idempotency-Key`` (1-100
        characters): the same key again answers 200 with the payment it posted (and
        ``Idempotent-Replayed: true``) and posts nothing; the same key with another loan,
        amount, date or reference answers 409."""
        sdk.acting_user_with("repayment.post")
        session = sdk.session()
        loan = _loan(loan_id)
        posted = payments.post_payment(
            session,
            loan,
            args["amount"],
            args["received_on"],
            source="api",
            reference=args["reference"],
            idempotency_key=_idempotency_key(),
            posted_by=sdk.acting_user().id,
        )
        shown = statement.present_payment(session, posted.payment)
        session.commit()
        if posted.replayed:
            return shown, 200, {"Idempotent-Replayed": "true"}
        return shown


@blp.route("/<uuid:loan_id>/payments/<uuid:payment_id>/reverse")
class Reverse(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(ReversalSchema)
    @blp.response(200, PaymentSchema)
    @blp.alt_response(409, description="Already reversed, or later payments stand on it")
    def post(self, args: dict[str, Any], loan_id: uuid.UUID, payment_id: uuid.UUID) -> Any:
        """Reverse (冲正) a payment with a reason: its allocations and ledger lines are
        mirrored and the installments are as they were before it. Only the loan's latest
        payment still standing can be reversed (409 names the later ones)."""
        sdk.acting_user_with("repayment.reverse")
        session = sdk.session()
        loan = _loan(loan_id)
        payment = session.scalar(
            select(Payment).where(Payment.id == payment_id, Payment.loan_id == loan.id)
        )
        if payment is None:
            raise sdk.NotFound(sdk.N_("No such payment."))
        payments.reverse_payment(session, payment, args["reason"], reversed_by=sdk.acting_user().id)
        shown = statement.present_payment(session, payment)
        session.commit()
        return shown


@blp.route("/<uuid:loan_id>/statement")
class Statement(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, StatementSchema)
    def get(self, loan_id: uuid.UUID) -> dict[str, Any]:
        """The statement of account (对账单): opening, each installment, payment and
        reversal in date order with the balance due after it, and what is owed now."""
        sdk.acting_user_with("repayment.view")
        return statement.statement(sdk.session(), _loan(loan_id))


@blp.route("/funders")
class Funders(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, FunderSchema(many=True))
    def get(self) -> list[Any]:
        """The funder catalogue (资金方)."""
        sdk.acting_user_with("repayment.view")
        return funders.list_funders(sdk.session())

    @sdk.require_token("records:write")
    @blp.arguments(FunderWriteSchema)
    @blp.response(201, FunderSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Add a funder (code, name, own or partner)."""
        sdk.acting_user_with("repayment.loans.book")
        funder = funders.create_funder(sdk.session(), args["code"], args["name"], args["kind"])
        sdk.session().commit()
        return funder
