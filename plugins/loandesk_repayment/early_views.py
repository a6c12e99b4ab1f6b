"""The early repayment page (提前还款): a form whose quote (试算) is shown by htmx as the staff
member fills it in, then confirmed. Its routes join the repayment pages' blueprint."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from loandesk import sdk
from loandesk_repayment import early_post, loans
from loandesk_repayment.early_api import quote_for
from loandesk_repayment.views import _loan, bp

FIELDS = ("kind", "repaid_on", "amount", "recalculation", "reference")
KIND_LABELS = (("full", sdk.N_("In full (settle the loan)")), ("partial", sdk.N_("In part")))
RECALCULATION_LABELS = {
    "shorten_term": sdk.N_("Shorten the term (same installment, fewer periods)"),
    "lower_installment": sdk.N_("Lower the installment (same periods)"),
}


def _values() -> dict[str, str]:
    return {k: request.form.get(k, "").strip() for k in FIELDS}


@bp.route("/<uuid:loan_id>/early-repayment", methods=["GET", "POST"], endpoint="early_repayment")
@sdk.permission_required("repayment.post")
def early_repayment(loan_id: uuid.UUID) -> Any:
    """The form (GET) and its confirmation (POST): posted, or shown again with the errors
    next to their fields and nothing lost."""
    session = sdk.session()
    loan = _loan(loan_id)
    errors = sdk.FormErrors()
    values = {"kind": "full", "repaid_on": loans.local_today().isoformat()}
    if request.method == "POST":
        values = _values()
        try:
            posted = early_post.early_repay(
                session,
                loan,
                values["amount"],
                values["repaid_on"],
                kind=values["kind"],
                recalculation=values["recalculation"] or None,
                posted_by=g.user.id,
                reference=values["reference"],
            )
        except (sdk.ValidationFailed, sdk.Conflict) as problem:
            session.rollback()
            errors.update(problem)
        else:
            session.commit()
            flash(
                gettext("Early repayment posted as payment #%(number)s.",
                        number=posted.payment.sequence),
                "success",
            )  # fmt: skip
            return redirect(url_for("tenant.repayment.detail", loan_id=loan.id))
    return render_template(
        "repayment/early_form.html",
        loan=_loan(loan_id),
        values=values,
        errors=errors,
        kinds=[(k, gettext(label)) for k, label in KIND_LABELS],
        recalculations=[(k, gettext(label)) for k, label in RECALCULATION_LABELS.items()],
    ), (422 if errors else 200)


@bp.post("/<uuid:loan_id>/early-repayment/quote", endpoint="early_quote")
@sdk.permission_required("repayment.post")
def early_quote(loan_id: uuid.UUID) -> Any:
    """The quote of what the form says so far (a fragment for htmx); posts nothing."""
    loan = _loan(loan_id)
    values, errors, quoted = _values(), sdk.FormErrors(), None
    try:
        quoted = quote_for(loan, values)
    except (sdk.ValidationFailed, sdk.Conflict) as problem:
        sdk.session().rollback()
        errors.update(problem)
    return render_template(
        "repayment/_early_quote.html",
        quoted=quoted,
        errors=errors,
        recalculations={k: gettext(label) for k, label in RECALCULATION_LABELS.items()},
    )
