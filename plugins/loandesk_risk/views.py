"""Risk pages: the rule set (draft editor, publishing, old versions read-only) and back-tests
for risk managers (``risk.manage``); a decision's page and its printable explanation for
anyone who may read the application, with the borrower's request for a person to decide."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_datetime, gettext
from sqlalchemy import select

from loandesk import sdk
from loandesk_risk import backtests, editor, reviews, service

bp = Blueprint("risk", __name__, url_prefix="/risk", template_folder="templates")

RECORD_TYPE = "application"
OUTCOME_LABELS = {
    "auto_approve": sdk.N_("Auto-approve"),
    "refer": sdk.N_("Refer to a person"),
    "auto_reject": sdk.N_("Auto-reject"),
}
RULE_OUTCOME_LABELS = {
    "reject": sdk.N_("Reject"),
    "refer": sdk.N_("Refer"),
    "pass": sdk.N_("Pass (record only)"),
}
CHANNEL_LABELS = {
    "phone": sdk.N_("Phone"),
    "app": sdk.N_("App"),
    "branch": sdk.N_("Branch"),
    "letter": sdk.N_("Letter"),
    "email": sdk.N_("E-mail"),
    "other": sdk.N_("Other"),
}
LABELS = {"outcomes": OUTCOME_LABELS, "rule_outcomes": RULE_OUTCOME_LABELS}


def _htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _errors(problem: sdk.DomainError) -> sdk.FormErrors:
    errors = sdk.FormErrors()
    errors.update(problem)
    return errors


# ---------------------------------------------------------------- rule set


@bp.get("/", endpoint="index")
@sdk.permission_required("risk.manage")
def rule_sets() -> Any:
    session = sdk.session()
    found = service.rule_set(session, RECORD_TYPE)
    versions = service.versions(session, RECORD_TYPE)
    names = sdk.display_names(session, [v.published_by_id for v in versions if v.published_by_id])
    return render_template(
        "risk/index.html", rule_set=found, versions=versions, names=names, labels=LABELS
    )


def _editor(definition: dict[str, Any], errors: sdk.FormErrors | None, status: int = 200) -> Any:
    form = sdk.current_form(RECORD_TYPE)
    kinds = service.inputs(form)
    context = {
        "definition": definition,
        "errors": errors or sdk.FormErrors(),
        "kinds": kinds,
        "numeric": editor.numeric_inputs(kinds),
        "labels": LABELS,
        "rule_set": service.rule_set(sdk.session(), RECORD_TYPE),
    }
    template = "risk/_editor.html" if _htmx() else "risk/draft.html"
    return render_template(template, **context), status


@bp.route("/draft", methods=["GET", "POST"], endpoint="draft")
@sdk.permission_required("risk.manage")
def draft() -> Any:
    if request.method == "GET":
        return _editor(service.draft(sdk.session(), RECORD_TYPE), None)
    definition = editor.parse(request.form)
    op = request.form.get("op", "save")
    if op != "save":  # a row button: nothing is saved yet
        return _editor(editor.change(definition, op), None)
    try:
        service.save_draft(
            sdk.session(), sdk.current_form(RECORD_TYPE), definition, user_id=g.user.id
        )
    except sdk.ValidationFailed as problem:
        sdk.session().rollback()
        return _editor(definition, _errors(problem), 422)
    sdk.session().commit()
    flash(gettext("Draft saved. It decides nothing until published."), "success")
    return _editor(definition, None)


@bp.post("/publish", endpoint="publish")
@sdk.permission_required("risk.manage")
def publish() -> Any:
    note = request.form.get("note", "").strip()[:500]
    try:
        version = service.publish(
            sdk.session(), sdk.current_form(RECORD_TYPE), user_id=g.user.id, note=note
        )
    except (sdk.ValidationFailed, sdk.NotFound) as problem:
        sdk.session().rollback()
        return _editor(service.draft(sdk.session(), RECORD_TYPE), _errors(problem), 422)
    sdk.session().commit()
    flash(gettext("Version %(number)s published.", number=version.number), "success")
    return redirect(url_for("tenant.risk.index"))


@bp.get("/versions/<int:number>", endpoint="version")
@sdk.permission_required("risk.manage")
def version(number: int) -> Any:
    found = service.version(sdk.session(), RECORD_TYPE, number)
    names = sdk.display_names(
        sdk.session(), [found.published_by_id] if found.published_by_id else []
    )
    return render_template("risk/version.html", version=found, names=names, labels=LABELS)


# ---------------------------------------------------------------- back-tests


@bp.route("/back-tests", methods=["GET", "POST"], endpoint="back_tests")
@sdk.permission_required("risk.manage")
def back_tests() -> Any:
    session = sdk.session()
    today = date.today()
    values = {
        "source": request.form.get("source", "draft"),
        "since": request.form.get("since", str(today - timedelta(days=30))),
        "until": request.form.get("until", str(today)),
    }
    errors = sdk.FormErrors()
    if request.method == "POST":
        try:
            since, until = date.fromisoformat(values["since"]), date.fromisoformat(values["until"])
        except ValueError:
            errors.add("since", gettext("Enter a date."))
        else:
            try:
                test = backtests.start(
                    session,
                    sdk.current_form(RECORD_TYPE),
                    source=values["source"],
                    since=since,
                    until=until,
                    user_id=g.user.id,
                )
            except (sdk.ValidationFailed, sdk.NotFound) as problem:
                session.rollback()
                errors = _errors(problem)
            else:
                session.commit()
                if test.state == "queued":
                    backtests.queue(session, test.id)
                    session.commit()
                return redirect(url_for("tenant.risk.back_test", back_test_id=test.id))
    return render_template(
        "risk/back_tests.html",
        values=values,
        errors=errors,
        versions=service.versions(session, RECORD_TYPE),
        recent=backtests.recent(session, RECORD_TYPE),
    ), (422 if errors else 200)


@bp.get("/back-tests/<uuid:back_test_id>", endpoint="back_test")
@sdk.permission_required("risk.manage")
def back_test(back_test_id: uuid.UUID) -> Any:
    test = backtests.get(sdk.session(), back_test_id)
    context = {"test": test, "summary": backtests.summary(test), "labels": LABELS}
    if _htmx():
        return render_template("risk/_back_test.html", **context)
    return render_template("risk/back_test.html", **context)


# ---------------------------------------------------------------- decisions


@bp.get("/decisions", endpoint="decisions")
@sdk.permission_required("risk.manage")
def decisions() -> Any:
    """The decisions on the applications the risk manager's scope reaches, newest first."""
    outcome = request.args.get("outcome") or None
    outcome = outcome if outcome in OUTCOME_LABELS else None
    page = sdk.page_asked()
    rows, total = service.recent_decisions(
        sdk.session(), sdk.record_access(RECORD_TYPE), outcome=outcome, page=page, per_page=20
    )
    return render_template(
        "risk/decisions.html",
        rows=rows,
        result=sdk.ListResult(items=rows, total=total, page=page, per_page=20),
        outcome=outcome,
        labels=LABELS,
    )


def _readable_record(record_type: str, record_id: uuid.UUID) -> Any:
    access = sdk.record_access(record_type)
    model: Any = access.record_type.model
    return access.check_record(sdk.session().scalar(select(model).where(model.id == record_id)))


@bp.get("/applications/<uuid:application_id>", endpoint="decision")
@sdk.login_required
def decision(application_id: uuid.UUID) -> Any:
    """The decisions made on an application, the newest in full."""
    record = _readable_record(RECORD_TYPE, application_id)
    found = service.decisions_of(sdk.session(), RECORD_TYPE, application_id)
    if not found:
        abort(404)
    chosen_id = request.args.get("decision")
    chosen = next((d for d in found if str(d.id) == chosen_id), found[0])
    asked_by = chosen.review_requested_by_id
    return render_template(
        "risk/decision.html",
        record=record,
        decision=chosen,
        decisions=found,
        newest=found[0],
        labels=LABELS,
        channels=CHANNEL_LABELS,
        asked_by=sdk.display_names(sdk.session(), [asked_by]).get(asked_by) if asked_by else None,
        errors=sdk.FormErrors(),
    )


@bp.post("/decisions/<uuid:decision_id>/review-request", endpoint="review_request")
@sdk.login_required
def review_request(decision_id: uuid.UUID) -> Any:
    session = sdk.session()
    found = reviews.decision(session, decision_id)
    record = _readable_record(found.record_type, found.record_id)
    channel = request.form.get("channel", "")
    if channel not in CHANNEL_LABELS:
        flash(gettext("Choose how the borrower asked."), "error")
        return redirect(url_for("tenant.risk.decision", application_id=found.record_id))
    try:
        reopened = reviews.request_review(
            session,
            sdk.current_form(found.record_type),
            record,
            found,
            user_id=g.user.id,
            channel=channel,
            note=request.form.get("note", "").strip()[:1000],
        )
    except sdk.Conflict as problem:
        session.rollback()
        flash(gettext(problem.message, **problem.params), "error")
    else:
        session.commit()
        flash(
            gettext("Human review requested: the application is back in approval.")
            if reopened
            else gettext("Human review requested: a person decides on this application."),
            "success",
        )
    return redirect(url_for("tenant.risk.decision", application_id=found.record_id))


@bp.get("/decisions/<uuid:decision_id>/explanation", endpoint="explanation")
@sdk.login_required
def explanation(decision_id: uuid.UUID) -> Any:
    """The borrower's explanation, printable (Chinese, for the borrower)."""
    found = reviews.decision(sdk.session(), decision_id)
    record = _readable_record(found.record_type, found.record_id)
    return render_template(
        "risk/explanation.html", told=reviews.explanation(found), record=record, labels=LABELS
    )


def decision_section(
    session: Any, record_type: str, record_id: uuid.UUID
) -> list[sdk.ProfileSection] | None:
    """The 风控决策 section of an application's page: one row per decision, newest first."""
    if record_type != RECORD_TYPE:
        return None
    rows = []
    for found in service.decisions_of(session, RECORD_TYPE, record_id):
        outcome = gettext(OUTCOME_LABELS.get(found.outcome, found.outcome))
        if found.review_requested_at is not None:
            outcome = gettext("%(outcome)s, a person to decide", outcome=outcome)
        url = url_for("tenant.risk.decision", application_id=record_id, decision=found.id)
        rows.append(
            sdk.ProfileRow(
                (
                    outcome,
                    found.grade or "",
                    "" if found.total_score is None else str(found.total_score),
                    str(found.version_number),
                    format_datetime(found.decided_at, "short"),
                ),
                url,
            )
        )
    return [
        sdk.ProfileSection(
            key="risk.decisions",
            title_zh="风控决策",
            title_en="Risk decisions",
            columns=(
                ("结果", "Outcome"),
                ("等级", "Grade"),
                ("评分", "Score"),
                ("规则版本", "Rule version"),
                ("决策时间", "Decided"),
            ),
            rows=tuple(rows),
            order=50,
            empty_zh="尚未提交，没有风控决策。",
            empty_en="No risk decision: not submitted yet.",
        )
    ]
