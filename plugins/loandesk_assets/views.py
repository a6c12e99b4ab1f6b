"""Asset preservation pages: provisions per class (the module's home), a loan's class with its
history, the override form (with reason) and the write-off request, the checker's write-off
queue, and the dossier downloads. Full pages; forms answer with their errors next to the
fields."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from sqlalchemy import func, select

from loandesk import sdk
from loandesk_assets import classify, dossier, provisions, settings, write_offs
from loandesk_assets.api import file_response
from loandesk_assets.models import WriteOff
from loandesk_assets.scope import loan_in_scope, scoped

bp = Blueprint("assets", __name__, url_prefix="/assets", template_folder="templates")
PER_PAGE = 20
WRITE_OFF_LABELS = {
    "requested": sdk.N_("Waiting for review"),
    "approved": sdk.N_("Written off"),
    "rejected": sdk.N_("Rejected"),
    "cancelled": sdk.N_("Withdrawn"),
}


def _zh() -> bool:
    return str(get_locale() or "zh").startswith("zh")


def _class_labels() -> dict[str, str]:
    zh = _zh()
    return {code: settings.label(code, zh) for code in settings.CODES}


def queue_count(user: Any) -> list[sdk.NavCount]:
    if not user.can("assets.write_off_approve"):
        return []
    waiting = sdk.session().scalar(
        select(func.count())
        .select_from(WriteOff)
        .where(WriteOff.status == "requested", WriteOff.requested_by_id != user.id)
    )
    if not waiting:
        return []
    return [sdk.NavCount(int(waiting), gettext("%(count)s to review", count=int(waiting)))]


@bp.get("/", endpoint="provisions")
@sdk.permission_required("assets.view")
def provisions_page() -> Any:
    lines = provisions.provisions(sdk.session(), sdk.record_access("loan"))
    total = sum((line.principal_outstanding for line in lines), 0)
    provision = sum((line.provision for line in lines), 0)
    return render_template(
        "assets/provisions.html",
        lines=lines,
        total=total,
        provision=provision,
        labels=_class_labels(),
    )


@bp.post("/classify-all", endpoint="classify_all")
@sdk.permission_required("assets.classify")
def classify_all() -> Any:
    sdk.enqueue(classify.CLASSIFY_ALL_JOB, sdk.current().id)
    flash(gettext("Every active loan will be classified in the background."), "success")
    return redirect(url_for("tenant.assets.provisions"))


def _loan_page(loan_id: uuid.UUID, errors: sdk.FormErrors | None = None, code: int = 200) -> Any:
    session = sdk.session()
    loan = loan_in_scope(sdk.loan_book().get(session, loan_id))
    row = classify.get_row(session, loan.id)
    by_dpd = settings.class_for(loan.days_past_due, settings.limits())
    history = classify.history(session, loan.id)
    requests = list(
        session.scalars(
            select(WriteOff)
            .where(WriteOff.loan_id == loan.id)
            .order_by(WriteOff.requested_at.desc())
        )
    )
    people = [c.changed_by_id for c in history] + [w.requested_by_id for w in requests]
    names = sdk.display_names(session, [p for p in people if p])
    live = any(w.status == "requested" for w in requests)
    return render_template(
        "assets/loan.html",
        loan=loan,
        row=row,
        by_dpd=by_dpd,
        history=history,
        requests=requests,
        names=names,
        labels=_class_labels(),
        live=live,
        write_off_labels=WRITE_OFF_LABELS,
        errors=errors or sdk.FormErrors(),
        values=request.form if errors else {},
        classes=[(code, label) for code, label in _class_labels().items()],
    ), code


@bp.get("/loans/<uuid:loan_id>", endpoint="loan")
@sdk.permission_required("assets.view")
def loan_page(loan_id: uuid.UUID) -> Any:
    return _loan_page(loan_id)


def _act(loan_id: uuid.UUID, permission: str, action: Any, done: str, back: str = "") -> Any:
    """Run ``action(session, loan)``; the loan's page again with the errors next to the
    fields when it is refused."""
    if not g.user.can(permission):
        abort(403)
    session = sdk.session()
    loan = loan_in_scope(sdk.loan_book().get(session, loan_id))
    try:
        action(session, loan)
    except (sdk.ValidationFailed, sdk.Conflict, sdk.Forbidden) as problem:
        session.rollback()
        errors = sdk.FormErrors()
        errors.update(problem)
        return _loan_page(loan_id, errors, 403 if isinstance(problem, sdk.Forbidden) else 422)
    session.commit()
    flash(gettext(done), "success")
    return redirect(back or url_for("tenant.assets.loan", loan_id=loan_id))


@bp.post("/loans/<uuid:loan_id>/override", endpoint="override")
@sdk.login_required
def override(loan_id: uuid.UUID) -> Any:
    form = request.form
    return _act(
        loan_id,
        "assets.classify",
        lambda s, loan: classify.override(
            s, loan.id, form.get("loan_class", ""), form.get("reason"), user_id=g.user.id
        ),
        sdk.N_("Class set."),
    )


@bp.post("/loans/<uuid:loan_id>/override/clear", endpoint="clear_override")
@sdk.login_required
def clear_override(loan_id: uuid.UUID) -> Any:
    reason = request.form.get("clear_reason")
    return _act(
        loan_id,
        "assets.classify",
        lambda s, loan: _clear(s, loan, reason),
        sdk.N_("Override cleared: the class follows days past due again."),
    )


def _clear(session: Any, loan: sdk.LoanSummary, reason: str | None) -> None:
    try:
        classify.clear_override(session, loan.id, reason, user_id=g.user.id)
    except sdk.ValidationFailed as problem:
        raise sdk.ValidationFailed(
            problem.message, errors={"clear_reason": problem.errors["reason"]}
        ) from None


@bp.post("/loans/<uuid:loan_id>/write-off", endpoint="request_write_off")
@sdk.login_required
def request_write_off(loan_id: uuid.UUID) -> Any:
    reason = request.form.get("write_off_reason")
    return _act(
        loan_id,
        "assets.write_off_request",
        lambda s, loan: _request(s, loan, reason),
        sdk.N_("Write-off requested: another person reviews it."),
    )


def _request(session: Any, loan: sdk.LoanSummary, reason: str | None) -> None:
    try:
        write_offs.request(session, loan.id, reason, user_id=g.user.id)
    except sdk.ValidationFailed as problem:
        raise sdk.ValidationFailed(
            problem.message, errors={"write_off_reason": problem.errors["reason"]}
        ) from None


@bp.get("/write-offs/queue", endpoint="queue")
@sdk.permission_required("assets.write_off_approve")
def queue() -> Any:
    """Requests waiting for a checker, oldest first; never one's own."""
    session = sdk.session()
    page = sdk.page_asked()
    query = scoped(select(WriteOff), WriteOff).where(
        WriteOff.status == "requested", WriteOff.requested_by_id != g.user.id
    )
    items, total = write_offs.listing(session, query, page=page, per_page=PER_PAGE)
    names = sdk.display_names(session, [w.requested_by_id for w in items])
    classes = classify.class_of(session, [w.loan_id for w in items])
    result = {"items": items, "page": page, "per_page": PER_PAGE, "total": total}
    return render_template(
        "assets/queue.html",
        result=result,
        names=names,
        classes=classes,
        labels=_class_labels(),
        errors=sdk.FormErrors(),
    )


def _review(write_off_id: uuid.UUID, action: Any, done: str) -> Any:
    if not g.user.can("assets.write_off_approve"):
        abort(403)
    session = sdk.session()
    row = write_offs.get(session, write_off_id)
    if not sdk.record_access("loan").reaches(row):
        abort(404)
    try:
        action(session, row)
    except (sdk.ValidationFailed, sdk.Conflict, sdk.Forbidden) as problem:
        session.rollback()
        errors = sdk.FormErrors()
        errors.update(problem)
        return _loan_page(row.loan_id, errors, 403 if isinstance(problem, sdk.Forbidden) else 422)
    session.commit()
    flash(gettext(done), "success")
    return redirect(url_for("tenant.assets.queue"))


@bp.post("/write-offs/<uuid:write_off_id>/approve", endpoint="approve")
@sdk.login_required
def approve(write_off_id: uuid.UUID) -> Any:
    note = request.form.get("note")
    return _review(
        write_off_id,
        lambda s, row: write_offs.approve(s, row.id, reviewer=g.user, note=note),
        sdk.N_("Write-off approved: the loan is written off."),
    )


@bp.post("/write-offs/<uuid:write_off_id>/reject", endpoint="reject")
@sdk.login_required
def reject(write_off_id: uuid.UUID) -> Any:
    note = request.form.get("note")
    return _review(
        write_off_id,
        lambda s, row: write_offs.reject(s, row.id, note, reviewer=g.user),
        sdk.N_("Write-off rejected."),
    )


@bp.get("/loans/<uuid:loan_id>/dossier.<kind>", endpoint="dossier")
@sdk.permission_required("assets.dossier")
def dossier_download(loan_id: uuid.UUID, kind: str) -> Any:
    if kind not in dossier.FORMATS:
        abort(404)
    session = sdk.session()
    loan = loan_in_scope(sdk.loan_book().get(session, loan_id))
    name, content_type, data = dossier.export(session, loan, kind)
    session.commit()
    return file_response(name, content_type, data)


def loan_section(session: Any, loan_id: uuid.UUID) -> list[sdk.ProfileSection] | None:
    """A loan's page: its class in force, how it came to be, and the link to its asset page."""
    if g.get("user") is None or not g.user.can("assets.view"):
        return None
    loan = sdk.loan_book().get(session, loan_id)
    if loan is None or loan.status == "pending":
        return None
    row = classify.get_row(session, loan_id)
    code = row.loan_class if row else settings.class_for(loan.days_past_due, settings.limits())
    how = gettext("Override") if row and row.override_class else gettext("Days past due")
    cells = (settings.label(code, _zh()), how, str(loan.days_past_due), gettext("Open") + " →")
    return [
        sdk.ProfileSection(
            key="assets.class",
            title_zh="五级分类",
            title_en="Five-tier class",
            columns=(("分类", "Class"), ("依据", "By"), ("逾期天数", "Days past due"), ("", "")),
            rows=(sdk.ProfileRow(cells, url_for("tenant.assets.loan", loan_id=loan_id)),),
            order=40,
        )
    ]
