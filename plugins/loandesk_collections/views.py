"""The collector's pages: the queue (工作台, the cases they may see, theirs first) and a case
(the loan, its schedule and payments, the borrower's contacts masked as their field
permissions say, the script of the bucket, the history) with the action and promise forms,
posted by htmx (the work area comes back) or as plain forms (a redirect)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from loandesk import sdk
from loandesk_collections import cases, labels, present, setup
from loandesk_collections.models import ACTION_KINDS, OUTCOMES, Case

bp = Blueprint("collections", __name__, url_prefix="/collections", template_folder="templates")

PER_PAGE = 20
WORK_TARGET = "case-work"


@dataclass(frozen=True)
class Page:
    items: list[Case]
    page: int
    per_page: int
    total: int


def _case(case_id: uuid.UUID) -> Case:
    """The case, 404 when the signed-in user may not see it (another agency's included)."""
    try:
        return cases.get_case(sdk.session(), case_id, g.user, sdk.record_access("collection_case"))
    except sdk.NotFound:
        abort(404)


@bp.get("/", endpoint="index")
@sdk.permission_required("collections.view")
def queue_page() -> Any:
    session = sdk.session()
    mine = request.args.get("mine") == "1"
    status = (
        request.args.get("status") if request.args.get("status") in ("open", "closed") else "open"
    )
    queue_id = None
    try:
        queue_id = uuid.UUID(request.args["queue"]) if request.args.get("queue") else None
    except ValueError:
        queue_id = None
    page = sdk.page_asked()
    filters = cases.Filters(status=status, queue_id=queue_id, mine=mine)
    found, total = cases.list_cases(
        session, g.user, sdk.record_access("collection_case"), filters,
        page=page, per_page=PER_PAGE,
    )  # fmt: skip
    queues = {q.id: q for q in setup.queues(session)}
    names = sdk.display_names(session, [c.owner_id for c in found if c.owner_id])
    params = {k: v for k, v in {"mine": "1" if mine else None, "status": status,
              "queue": str(queue_id) if queue_id else None}.items() if v}  # fmt: skip
    return render_template(
        "collections/index.html",
        result=Page(found, page, PER_PAGE, total),
        queues=queues,
        names=names,
        mine=mine,
        status=status,
        queue_id=queue_id,
        params=params,
        labels=labels,
    )


def _work(case: Case, *, errors: sdk.FormErrors | None = None, form: str = "",
          values: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    session = sdk.session()
    return {
        "case": case,
        "actions": cases.actions_of(session, case),
        "promises": cases.promises_of(session, case),
        "assignments": cases.assignments_of(session, case),
        "names": sdk.display_names(
            session,
            [a.user_id for a in cases.actions_of(session, case)]
            + [p.made_by_id for p in cases.promises_of(session, case)]
            + [a.collector_id for a in cases.assignments_of(session, case) if a.collector_id],
        ),
        "queues": {q.id: q for q in setup.queues(session)},
        "errors": errors or sdk.FormErrors(),
        "form": form,
        "values": values or {},
        "kinds": [(k, gettext(labels.KIND_LABELS[k])) for k in ACTION_KINDS],
        "outcomes": [(k, gettext(labels.OUTCOME_LABELS[k])) for k in OUTCOMES],
        "can_work": g.user.can("collections.work") and case.status == "open",
        "labels": labels,
    }


@bp.get("/cases/<uuid:collection_case_id>", endpoint="case")
@sdk.permission_required("collections.view")
def case_page(collection_case_id: uuid.UUID) -> Any:
    session = sdk.session()
    case = _case(collection_case_id)
    shown = present.detail(session, case)
    session.commit()  # personal data shown in full is audited
    return render_template(
        "collections/case.html",
        shown=shown,
        todos=sdk.record_todos("collection_case", case.id),
        todos_template=sdk.RECORD_TODOS_TEMPLATE,
        **_work(case),
    )


def _answer(case: Case, errors: sdk.FormErrors, form: str, values: dict[str, str],
            done: str) -> Any:  # fmt: skip
    """The work area for htmx (with the form's problems next to its fields), else the page
    again on a problem or a redirect to it."""
    if request.headers.get("HX-Request"):
        context = _work(case, errors=errors, form=form, values=values if errors else {})
        return render_template("collections/_work.html", **context), (422 if errors else 200)
    if errors:
        session = sdk.session()
        return render_template(
            "collections/case.html",
            shown=present.detail(session, case),
            todos=sdk.record_todos("collection_case", case.id),
            todos_template=sdk.RECORD_TODOS_TEMPLATE,
            **_work(case, errors=errors, form=form, values=values),
        ), 422
    flash(done, "success")
    return redirect(url_for("tenant.collections.case", collection_case_id=case.id))


@bp.post("/cases/<uuid:collection_case_id>/actions", endpoint="log_action")
@sdk.permission_required("collections.work")
def log_action(collection_case_id: uuid.UUID) -> Any:
    session, case = sdk.session(), _case(collection_case_id)
    values = {k: request.form.get(k, "").strip() for k in ("kind", "outcome", "contact", "note")}
    errors = sdk.FormErrors()
    try:
        cases.log_action(session, case, user_id=g.user.id, **values)
    except (sdk.ValidationFailed, sdk.Conflict) as problem:
        session.rollback()
        errors.update(problem)
    else:
        session.commit()
    return _answer(_case(collection_case_id), errors, "action", values, gettext("Action logged."))


@bp.post("/cases/<uuid:collection_case_id>/promises", endpoint="make_promise")
@sdk.permission_required("collections.work")
def make_promise(collection_case_id: uuid.UUID) -> Any:
    session, case = sdk.session(), _case(collection_case_id)
    values = {k: request.form.get(k, "").strip() for k in ("amount", "promised_on", "note")}
    errors = sdk.FormErrors()
    try:
        cases.make_promise(session, case, user_id=g.user.id, **values)
    except (sdk.ValidationFailed, sdk.Conflict) as problem:
        session.rollback()
        errors.update(problem)
    else:
        session.commit()
    return _answer(
        _case(collection_case_id), errors, "promise", values, gettext("Promise to pay recorded.")
    )
