"""Booking a loan by hand (录入贷款), and the application page's way there: an approved
application (``sdk.application_for_loan``) opens the form pre-filled — its customer, the
approved amount, the catalogue product of the application product's code, its term as the
number of periods when that product is paid monthly — and, once booked, links to its loan."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select

from loandesk import sdk
from loandesk.sdk import finance
from loandesk_repayment import loans
from loandesk_repayment.models import Loan
from loandesk_repayment.views import STATUS_LABELS, bp

FIELDS = ("customer_id", "product_id", "principal", "periods", "maturity_date", "application_id")


def _application(session: Any, raw: str) -> sdk.ApplicationSummary | None:
    """The application ``raw`` names, if the signed-in user may read it (404 otherwise)."""
    if not raw:
        return None
    found = sdk.application_for_loan(session, raw)
    if found is None:
        abort(404)
    access = sdk.record_access("application")
    model: Any = sdk.record_type("application").model
    if session.scalar(access.where(select(model.id)).where(model.id == found.id)) is None:
        abort(404)
    return found


def _loan_of(session: Any, application_id: uuid.UUID) -> Loan | None:
    return session.scalar(select(Loan).where(Loan.application_id == application_id))


def prefill(
    application: sdk.ApplicationSummary, catalogue: list[finance.ProductTerms]
) -> dict[str, str]:
    """The form's values for a loan booked from ``application``. The product is the
    catalogue's of the same code as the application's product (none: staff choose). The term
    becomes the number of periods only for a monthly product (a single payment: 1); a weekly
    or quarterly product's periods are not months, so staff enter them."""
    values = {
        "customer_id": str(application.customer_id),
        "principal": f"{application.amount:.2f}",
        "application_id": str(application.id),
    }
    product = next((p for p in catalogue if p.code == application.product_code), None)
    if product is not None:
        values["product_id"] = str(product.product_id)
        if product.frequency == finance.Frequency.MONTHLY:
            values["periods"] = str(application.term_months)
        elif product.frequency == finance.Frequency.SINGLE:
            values["periods"] = "1"
    return values


def _periods(raw: str) -> Any:
    """A whole number as typed, else the text (``check_terms`` names the field)."""
    return int(raw) if raw.isdigit() else raw


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@sdk.permission_required("repayment.loans.book")
def book_form() -> Any:
    session = sdk.session()
    catalogue = sdk.product_catalogue(session)
    source = request.values.get("application_id", "").strip()
    application = _application(session, source)
    if application is not None and (booked := _loan_of(session, application.id)) is not None:
        flash(gettext("A loan was already booked from this application."), "info")
        return redirect(url_for("tenant.repayment.detail", loan_id=booked.id))
    errors = sdk.FormErrors()
    if application is not None:
        values = prefill(application, catalogue)
    else:
        values = {"customer_id": request.args.get("customer_id", "").strip()}
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in FIELDS}
        try:
            raw = values["maturity_date"]
            maturity = dt.date.fromisoformat(raw) if raw else None
        except ValueError:
            errors.add("maturity_date", gettext("Enter a date such as 2026-01-31."))
            maturity = None
        if not errors:
            try:
                loan = loans.book(
                    session,
                    customer_id=values["customer_id"],
                    product_id=values["product_id"],
                    principal=values["principal"],
                    periods=_periods(values["periods"]),
                    application_id=values["application_id"] or None,
                    maturity_date=maturity,
                    booked_by=g.user.id,
                    access=sdk.record_access("loan"),
                )
            except (sdk.ValidationFailed, sdk.Conflict) as problem:
                session.rollback()
                errors.update(problem)
                # a problem of a field this page does not show (a tenant's required loan
                # field) is still said, above the form
                for key, messages in list(errors.fields.items()):
                    if key not in FIELDS:
                        errors.form.extend(messages)
            else:
                session.commit()
                flash(gettext("Loan %(number)s booked.", number=loan.number), "success")
                return redirect(url_for("tenant.repayment.detail", loan_id=loan.id))
    return render_template(
        "repayment/book_form.html",
        values=values,
        errors=errors,
        application=application,
        products=[("", "")] + [(str(p.product_id), f"{p.code} · {p.name}") for p in catalogue],
    ), (422 if errors else 200)


def application_section(session: Any, application_id: uuid.UUID) -> sdk.ProfileSection | None:
    """The application page's loan: a link to it once booked; before, for an approved
    application and a user who may book loans, the way to book it."""
    user = sdk.acting_user()
    if not (user.can("repayment.view") or user.can("repayment.loans.book")):
        return None
    loan = _loan_of(session, application_id)
    if loan is not None:
        status = gettext(STATUS_LABELS[loan.status])
        url = url_for("tenant.repayment.detail", loan_id=loan.id)
        cells = (loan.number, f"¥{loan.principal:,.2f}", status)
        rows = (sdk.ProfileRow(cells, url if user.can("repayment.view") else None),)
    else:
        application = sdk.application_for_loan(session, application_id)
        if application is None or application.status != "approved":
            return None
        if not user.can("repayment.loans.book"):
            return None
        url = url_for("tenant.repayment.new", application_id=application_id)
        cells = (gettext("Book the loan") + " →", f"¥{application.amount:,.2f}", "")
        rows = (sdk.ProfileRow(cells, url),)
    return sdk.ProfileSection(
        "repayment.loan",
        "贷款",
        "Loan",
        columns=(("贷款编号", "Loan number"), ("本金", "Principal"), ("状态", "Status")),
        rows=rows,
        order=30,
    )
