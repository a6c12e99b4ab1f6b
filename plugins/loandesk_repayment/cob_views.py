"""The close of business page (日终批处理, ``/loans/cob``): the tenant's business date, its runs
newest first with their progress (the running one refreshes itself by htmx polling until it
is done), and a form that runs close of business for a date as the API does. Thin over
``cob``."""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import func, select

from loandesk import sdk
from loandesk_repayment import cob
from loandesk_repayment.cob_models import CobRun
from loandesk_repayment.views import Page, bp

PERMISSION = "repayment.cob"
PER_PAGE = 20
STATE_LABELS = {
    "running": sdk.N_("Running"),
    "done": sdk.N_("Done"),
    "superseded": sdk.N_("Superseded"),
}


def _page(errors: sdk.FormErrors | None = None, value: str = "") -> Any:
    session = sdk.session()
    page = sdk.page_asked()
    total = session.scalar(select(func.count()).select_from(CobRun)) or 0
    runs = cob.runs(session, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return render_template(
        "repayment/cob.html",
        business_date=cob.business_date(session),
        result=Page(runs, page, PER_PAGE, total),
        labels=STATE_LABELS,
        errors=errors or sdk.FormErrors(),
        value=value,
    ), (422 if errors else 200)


@bp.get("/cob", endpoint="cob")
@sdk.permission_required(PERMISSION)
def cob_page() -> Any:
    return _page()


@bp.post("/cob", endpoint="cob_run")
@sdk.permission_required(PERMISSION)
def cob_run() -> Any:
    session = sdk.session()
    value = request.form.get("business_date", "").strip()
    errors = sdk.FormErrors()
    try:
        run = cob.queue(session, value, requested_by=g.user.id)
    except sdk.ValidationFailed as problem:
        session.rollback()
        errors.update(problem)
        return _page(errors, value)
    except sdk.Conflict as problem:  # before the latest run: said next to the date
        session.rollback()
        errors.add("business_date", gettext(problem.message, **problem.params))
        return _page(errors, value)
    session.commit()
    if run.state == "running":
        cob.enqueue(run)
        queued = gettext("Close of business for %(date)s is queued.", date=run.business_date)
        flash(queued, "success")
    else:
        flash(gettext("Close of business for %(date)s has run already.", date=run.business_date))
    return redirect(url_for("tenant.repayment.cob"))


@bp.get("/cob/<uuid:run_id>", endpoint="cob_run_row")
@sdk.permission_required(PERMISSION)
def cob_run_row(run_id: uuid.UUID) -> Any:
    """One run's row for htmx (the running one polls it until it is done), the page for a
    plain request; 404 for another tenant's."""
    run = sdk.session().scalar(select(CobRun).where(CobRun.id == run_id))
    if run is None:
        abort(404)
    if not request.headers.get("HX-Request"):
        return redirect(url_for("tenant.repayment.cob"))
    return render_template("repayment/_cob_run.html", run=run, labels=STATE_LABELS)
