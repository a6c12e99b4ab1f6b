"""Credit pages: the tenant's external credit queries with their cost (``credit.view_queries``:
finance, risk, audit) and a customer's credit data (the variables a risk decision would read
now, and the customer's queries) for staff who may query (``credit.query``)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext
from sqlalchemy import func, select

from loandesk import sdk
from loandesk_credit import service
from loandesk_credit.models import CreditQuery

bp = Blueprint("credit", __name__, url_prefix="/credit", template_folder="templates")

PER_PAGE = 20


@bp.get("/queries", endpoint="queries")
@sdk.permission_required("credit.view_queries")
def queries() -> Any:
    session = sdk.session()
    page = sdk.page_asked()
    items, total = service.queries(session, page=page, per_page=PER_PAGE)
    cost = session.scalar(select(func.sum(CreditQuery.cost))) or Decimal("0.00")
    askers = sdk.display_names(session, [q.asked_by_id for q in items])
    return render_template(
        "credit/queries.html",
        result=sdk.ListResult(items=items, total=total, page=page, per_page=PER_PAGE),
        total_cost=cost,
        askers=askers,
    )


def _customer(customer_id: uuid.UUID) -> Any:
    access = sdk.record_access("customer")
    model: Any = access.record_type.model
    return access.check_record(sdk.session().scalar(select(model).where(model.id == customer_id)))


@bp.get("/customers/<uuid:customer_id>", endpoint="customer")
@sdk.permission_required("credit.query")
def customer(customer_id: uuid.UUID) -> Any:
    session = sdk.session()
    found = _customer(customer_id)
    consent = service.valid_consent_id(session, found.id)
    try:
        variables = service.decision_variables(session, found.id)
    except sdk.DomainError:
        variables = service.internal_variables(session, found.id)
    items, total = service.queries(session, customer_id=found.id, per_page=50)
    return render_template(
        "credit/customer.html",
        customer=found,
        consented=consent is not None,
        variables=variables,
        queries=items,
        total=total,
    )


@bp.post("/customers/<uuid:customer_id>/query", endpoint="query")
@sdk.permission_required("credit.query")
def query(customer_id: uuid.UUID) -> Any:
    session = sdk.session()
    found = _customer(customer_id)
    try:
        result = service.query(session, sdk.record_access("customer"), found.id)
    except service.QueryFailed as problem:
        session.commit()  # the failed call is kept
        flash(gettext(problem.message, **problem.params), "error")
    except sdk.DomainError as problem:
        session.rollback()
        messages = [gettext(m) for ms in problem.errors.values() for m in ms]
        flash(" ".join(messages) or gettext(problem.message, **problem.params), "error")
    else:
        session.commit()
        flash(
            gettext("The stored result is still valid: no new query, no cost.")
            if result.cached
            else gettext("Credit data received."),
            "success",
        )
    return redirect(url_for("tenant.credit.customer", customer_id=found.id))
