"""Loan pages: the list, a loan's page (terms, schedule, payments with their reversal, funders),
the payment form and the statement of account. Thin over the services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from sqlalchemy import func, select

from loandesk import sdk
from loandesk_repayment import funders, loans, payments, statement
from loandesk_repayment.models import LOAN_STATUSES, Loan, Payment

bp = Blueprint("repayment", __name__, url_prefix="/loans", template_folder="templates")

PER_PAGE = 20
STATUS_LABELS = {
    "pending": sdk.N_("Pending"),
    "active": sdk.N_("Active"),
    "settled": sdk.N_("Settled"),
    "written_off": sdk.N_("Written off"),
    "partial": sdk.N_("Partly paid"),
    "paid": sdk.N_("Paid"),
    "posted": sdk.N_("Posted"),
    "reversed": sdk.N_("Reversed"),
}


@dataclass(frozen=True)
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int


def _zh() -> bool:
    return str(get_locale() or "zh").startswith("zh")


def _loan(loan_id: uuid.UUID) -> Loan:
    """The loan, 404 outside the signed-in user's data scope."""
    try:
        return loans.get_loan(sdk.session(), loan_id, sdk.record_access("loan"))
    except sdk.NotFound:
        abort(404)


@bp.get("/", endpoint="index")
@sdk.permission_required("repayment.view")
def loan_list() -> Any:
    session = sdk.session()
    status = request.args.get("status")
    query = sdk.record_access("loan").where(select(Loan))
    if status in LOAN_STATUSES:
        query = query.where(Loan.status == status)
    page = sdk.page_asked()
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(
        session.scalars(
            query.order_by(Loan.created_at.desc(), Loan.number.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        )
    )
    rows = [(loan, statement.outstanding(loans.installments_of(session, loan))) for loan in items]
    return render_template(
        "repayment/index.html",
        result=Page(items, page, PER_PAGE, total),
        rows=rows,
        status=status if status in LOAN_STATUSES else None,
        statuses=LOAN_STATUSES,
        labels=STATUS_LABELS,
    )


def _detail(loan: Loan, errors: sdk.FormErrors | None = None, reversing: Any = None) -> Any:
    session, access = sdk.session(), sdk.record_access("loan")
    shown = statement.present_loan(session, loan, access=access)
    custom = [
        (spec.label_zh if _zh() else spec.label_en, shown.get(spec.key))
        for spec in access.visible_fields()
        if spec.custom
    ]
    # what other plugins add to a loan's page (disbursement: its orders, "request payout")
    sections = sdk.record_sections(session, "loan", loan.id)
    access.audit_shown(session)
    session.commit()
    history = [statement.present_payment(session, p) for p in payments.payments_of(session, loan)]
    latest = next((p for p in reversed(history) if p["status"] == "posted"), None)
    return render_template(
        "repayment/detail.html",
        loan=loan,
        sections=sections,
        locale="zh" if _zh() else "en",
        shown=shown,
        custom=custom,
        payments=history,
        latest_id=latest["id"] if latest else None,
        labels=STATUS_LABELS,
        errors=errors or sdk.FormErrors(),
        reversing=reversing,
        can_post=g.user.can("repayment.post"),
        can_reverse=g.user.can("repayment.reverse"),
    ), (422 if errors else 200)


@bp.get("/<uuid:loan_id>", endpoint="detail")
@sdk.permission_required("repayment.view")
def loan_detail(loan_id: uuid.UUID) -> Any:
    return _detail(_loan(loan_id))


@bp.route("/<uuid:loan_id>/payments/new", methods=["GET", "POST"], endpoint="post_payment")
@sdk.permission_required("repayment.post")
def payment_form(loan_id: uuid.UUID) -> Any:
    session = sdk.session()
    loan = _loan(loan_id)
    errors = sdk.FormErrors()
    values = {"received_on": loans.local_today().isoformat()}
    if request.method == "POST":
        values = {
            k: request.form.get(k, "").strip() for k in ("amount", "received_on", "reference")
        }
        try:
            posted = payments.post_payment(
                session,
                loan,
                values["amount"],
                values["received_on"],
                source="staff",
                reference=values["reference"],
                posted_by=g.user.id,
            )
        except (sdk.ValidationFailed, sdk.Conflict) as problem:
            session.rollback()
            errors.update(problem)
        else:
            session.commit()
            flash(gettext("Payment #%(number)s posted.", number=posted.payment.sequence), "success")
            return redirect(url_for("tenant.repayment.detail", loan_id=loan.id))
    return render_template(
        "repayment/payment_form.html",
        loan=loan,
        values=values,
        errors=errors,
        outstanding=statement.outstanding(loans.installments_of(session, loan)),
    ), (422 if errors else 200)


@bp.post("/<uuid:loan_id>/payments/<uuid:payment_id>/reverse", endpoint="reverse")
@sdk.permission_required("repayment.reverse")
def reverse(loan_id: uuid.UUID, payment_id: uuid.UUID) -> Any:
    session = sdk.session()
    loan = _loan(loan_id)
    payment = session.scalar(
        select(Payment).where(Payment.id == payment_id, Payment.loan_id == loan.id)
    )
    if payment is None:
        abort(404)
    try:
        payments.reverse_payment(
            session, payment, request.form.get("reason", ""), reversed_by=g.user.id
        )
    except (sdk.ValidationFailed, sdk.Conflict) as problem:
        session.rollback()
        errors = sdk.FormErrors()
        errors.update(problem)
        return _detail(_loan(loan_id), errors, reversing=payment_id)
    session.commit()
    flash(gettext("Payment #%(number)s reversed.", number=payment.sequence), "success")
    return redirect(url_for("tenant.repayment.detail", loan_id=loan.id))


@bp.get("/<uuid:loan_id>/statement", endpoint="statement")
@sdk.permission_required("repayment.view")
def statement_page(loan_id: uuid.UUID) -> Any:
    session = sdk.session()
    loan = _loan(loan_id)
    return render_template(
        "repayment/statement.html", loan=loan, found=statement.statement(session, loan)
    )


@bp.route("/funders", methods=["GET", "POST"], endpoint="funders")
@sdk.permission_required("repayment.loans.book")
def funder_catalogue() -> Any:
    """The funders (资金方) loans are split by, and a form to add one."""
    session = sdk.session()
    errors = sdk.FormErrors()
    values = {"kind": "partner"}
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in ("code", "name", "kind")}
        try:
            funders.create_funder(session, values["code"], values["name"], values["kind"])
        except sdk.ValidationFailed as problem:
            session.rollback()
            errors.update(problem)
        else:
            session.commit()
            flash(gettext("Funder added."), "success")
            return redirect(url_for("tenant.repayment.funders"))
    return render_template(
        "repayment/funders.html",
        funders=funders.list_funders(session),
        values=values,
        errors=errors,
    ), (422 if errors else 200)
