"""The rules list, the rule form (new and edit, with its htmx refresh), enable/disable,
delete and the dry run."""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import func, select

from loandesk import extension
from loandesk.automations import engine, service
from loandesk.automations.models import RuleFiring
from loandesk.errors import DomainError, NotFound
from loandesk.fields.current import current_form
from loandesk.i18n import N_
from loandesk.plugins import runtime as plugin_runtime
from loandesk.rbac.access import RecordAccess
from loandesk.tenancy import current
from loandesk.web.auth_views import permission_required
from loandesk.web.automation_views import bp, form
from loandesk.web.automation_views.common import (
    PERMISSION,
    locale,
    partial,
    record_type_or_none,
    render_form,
    trigger_words,
)
from loandesk.web.flow_designer import panel
from loandesk.web.paging import page_asked


def _rule(rule_id: str) -> Any:
    try:
        return service.get(extension.session(), uuid.UUID(rule_id))
    except (ValueError, NotFound):
        abort(404)


@bp.get("", endpoint="rules")
@permission_required(PERMISSION)
def rules() -> Any:
    session = extension.session()
    page = page_asked()
    rows, total = service.list_rules(session, page=page, per_page=50)
    loc = locale()
    items = []
    for row in rows:
        last = session.scalar(
            select(RuleFiring).where(RuleFiring.rule_id == row.id)
            .order_by(RuleFiring.created_at.desc(), RuleFiring.id.desc()).limit(1)
        )  # fmt: skip
        failed = session.scalar(
            select(func.count(RuleFiring.id)).where(
                RuleFiring.rule_id == row.id, RuleFiring.state == "failed"
            )
        )
        record_type = record_type_or_none(row.record_type)
        items.append(
            {
                "row": row,
                "record_type": record_type.label(loc) if record_type else row.record_type,
                "trigger": trigger_words(row.trigger, record_type, loc),
                "last": last,
                "failed": failed or 0,
            }
        )
    template = "admin/automations/_rows.html" if partial() else "admin/automations/index.html"
    return render_template(template, items=items, total=total, page=page, locale=loc)


@bp.get("/new", endpoint="new")
@permission_required(PERMISSION)
def new() -> Any:
    types = plugin_runtime.record_types()
    key = request.args.get("record_type") or (types[0].key if types else "")
    return render_form(form.state_of(None, key), {})


@bp.get("/<rule_id>", endpoint="rule")
@permission_required(PERMISSION)
def rule(rule_id: str) -> Any:
    row = _rule(rule_id)
    return render_form(form.state_of(row, row.record_type), {}, row=row, recent=_recent(row))


def _build(state: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """The condition builder's clause appended to the condition (or its errors)."""
    record_type = record_type_or_none(state["record_type"])
    if record_type is None:
        return
    text, problems = panel.clause(
        current_form(record_type), state["b_field"], state["b_op"], state["b_value"]
    )
    if text is None:
        for key, found in problems.items():
            errors.setdefault(key, []).extend(gettext(m) for m in found)
        return
    state["condition"] = panel.combine(state["condition"], state["b_join"], text)
    state["b_field"] = state["b_op"] = state["b_value"] = ""


@bp.post("/refresh", endpoint="refresh")
@permission_required(PERMISSION)
def refresh() -> Any:
    """The form again with the posted inputs: another record type or trigger kind offers
    its own choices; add / remove / move an action; the condition builder's clause added."""
    state = form.posted_state(request.form)
    errors: dict[str, list[str]] = {}
    form.arrange(state, request.form)
    if request.form.get("build"):
        _build(state, errors)
    if request.form.get("load_view"):
        _load_view(state, errors)
    row = _rule(request.form["rule_id"]) if request.form.get("rule_id") else None
    return render_form(state, errors, row=row)


def _load_view(state: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """A schedule rule's filters taken from one of the admin's saved views."""
    from loandesk.fields.saved_views import get_view

    try:
        view = get_view(extension.session(), g.user.id, uuid.UUID(request.form["view"]))
    except (ValueError, KeyError, DomainError):
        errors["trigger.view"] = [gettext("Choose one of your saved views.")]
        return
    if view.record_type != state["record_type"]:
        errors["trigger.view"] = [gettext("Choose one of your saved views.")]
        return
    state["filters"] = "\n".join(view.filters or [])


def _save(row: Any) -> Any:
    state = form.posted_state(request.form)
    if form.arrange(state, request.form) or request.form.get("build"):
        errors: dict[str, list[str]] = {}
        if request.form.get("build"):
            _build(state, errors)
        return render_form(state, errors, row=row)  # a button without htmx: nothing saved
    data, unread = form.rule_data(state)
    record_type = record_type_or_none(state["record_type"])
    if record_type is None:
        unread.setdefault("record_type", []).append(N_("Choose a record type."))
    errors = {k: [gettext(m) for m in found] for k, found in unread.items()}
    if errors:
        return render_form(state, errors, row=row, status=422)
    session = extension.session()
    assert record_type is not None
    args = (current_form(record_type), _types(), plugin_runtime.automation_actions())
    try:
        if row is None:
            row = service.create(session, data, *args, user_id=g.user.id)
        else:
            row = service.update(session, row, data, *args, user_id=g.user.id)
    except DomainError as problem:
        session.rollback()
        errors = {k: [gettext(m) for m in found] for k, found in problem.errors.items()}
        return render_form(state, errors, row=row, status=422,
                           form_errors=[gettext(problem.message, **problem.params)])  # fmt: skip
    session.commit()
    flash(gettext("Rule saved."), "success")
    url = url_for("tenant.admin_automations.rule", rule_id=row.id)
    if partial():
        return "", 204, {"HX-Redirect": url}
    return redirect(url)


def _types() -> Any:
    from loandesk.web.automation_views.common import event_types

    return event_types()


@bp.post("/new", endpoint="create")
@permission_required(PERMISSION)
def create() -> Any:
    return _save(None)


@bp.post("/<rule_id>", endpoint="update")
@permission_required(PERMISSION)
def update(rule_id: str) -> Any:
    return _save(_rule(rule_id))


@bp.post("/<rule_id>/enabled", endpoint="enabled")
@permission_required(PERMISSION)
def enabled(rule_id: str) -> Any:
    row = _rule(rule_id)
    session = extension.session()
    service.set_enabled(session, row, request.form.get("enabled") == "1")
    session.commit()
    if partial():
        return render_template("admin/automations/_toggle.html", row=row)
    flash(gettext("Rule enabled.") if row.enabled else gettext("Rule disabled."), "success")
    return redirect(request.form.get("next") or url_for("tenant.admin_automations.rules"))


@bp.post("/<rule_id>/delete", endpoint="delete")
@permission_required(PERMISSION)
def delete(rule_id: str) -> Any:
    row = _rule(rule_id)
    session = extension.session()
    try:
        service.delete(session, row)
    except DomainError as problem:
        session.rollback()
        flash(gettext(problem.message, **problem.params), "error")
        return redirect(url_for("tenant.admin_automations.rule", rule_id=row.id))
    session.commit()
    flash(gettext("Rule deleted."), "success")
    return redirect(url_for("tenant.admin_automations.rules"))


def _recent(row: Any) -> list[tuple[str, str]]:
    """Recent records of the rule's record type the admin may read: the dry run's choices."""
    record_type = record_type_or_none(row.record_type)
    if record_type is None:
        return []
    session = extension.session()
    access = RecordAccess.resolve(session, g.user, record_type)
    if not access.can_read:
        return []
    model = record_type.model
    query = access.where(select(model))
    if hasattr(model, "created_at"):
        query = query.order_by(model.created_at.desc())
    return [
        (str(r.id), f"{getattr(r, record_type.title_field, '') or r.id}")
        for r in session.scalars(query.limit(20))
    ]


@bp.post("/<rule_id>/dry-run", endpoint="dry_run")
@permission_required(PERMISSION)
def dry_run(rule_id: str) -> Any:
    """The rule tried against one record the admin may read: nothing is written."""
    row = _rule(rule_id)
    record_type = record_type_or_none(row.record_type)
    if record_type is None:
        abort(404)
    session = extension.session()
    record_id = (request.form.get("record_id") or request.form.get("record") or "").strip()
    access = RecordAccess.resolve(session, g.user, record_type)
    record = engine.load(session, record_type, record_id) if record_id else None
    problem = None
    preview = None
    if record is None or not access.can_read or not access.reaches(record):
        problem = gettext("No record with this id that you may see.")
    else:
        form = current_form(record_type)
        preview = service.dry_run(
            session, row, record, form, plugin_runtime.automation_actions(), current().timezone
        )
    session.rollback()  # nothing of the dry run stays
    context = {"row": row, "preview": preview, "problem": problem, "record_id": record_id,
               "recent": _recent(row), "locale": locale()}  # fmt: skip
    if partial():
        return render_template("admin/automations/_dry_run.html", **context)
    return render_form(form_state(row), {}, row=row, **context)


def form_state(row: Any) -> dict[str, Any]:
    return form.state_of(row, row.record_type)
