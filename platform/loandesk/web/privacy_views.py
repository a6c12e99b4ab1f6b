"""Administration → Personal data (个人信息保护): retention periods per record type, and the
deadline of data-subject requests."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from loandesk import extension
from loandesk.errors import ValidationFailed
from loandesk.pii.retention import RetentionSubject
from loandesk.plugins import runtime
from loandesk.privacy import requests as data_requests
from loandesk.privacy import retention
from loandesk.tenancy import current
from loandesk.web.auth_views import permission_required
from loandesk.web.forms import FormErrors

bp = Blueprint("admin_privacy", __name__, url_prefix="/admin/privacy")


def _available() -> list[RetentionSubject]:
    return retention.subjects(runtime.host(), runtime.enabled())


def _page(values: dict[str, str], errors: FormErrors, status: int = 200) -> tuple[str, int]:
    session = extension.session()
    available = _available()
    due = {
        r.record_type: r.due
        for r in retention.run(session, available, timezone=current().timezone, dry_run=True)
    }
    return render_template(
        "admin/privacy.html",
        periods=retention.periods(session, available),
        due=due,
        values=values,
        errors=errors,
        locale=str(get_locale() or "zh"),
    ), status


def _stored_values() -> dict[str, str]:
    session = extension.session()
    values = {
        "data_request_due_days": str(data_requests.get_settings(session).data_request_due_days)
    }
    for period in retention.periods(session, _available()):
        key = period.subject.key
        values[f"days-{key}"] = "" if period.days is None else str(period.days)
        values[f"forever-{key}"] = "on" if period.is_set and period.days is None else ""
    return values


@bp.get("", endpoint="privacy")
@permission_required("privacy.manage")
def privacy_page() -> Any:
    return _page(_stored_values(), FormErrors())


@bp.post("")
@permission_required("privacy.manage")
def privacy_save() -> Any:
    session = extension.session()
    available = _available()
    values = {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}
    errors = FormErrors()
    chosen: dict[str, int | None] = {}
    for period in retention.periods(session, available):
        key = period.subject.key
        days_text = values.get(f"days-{key}", "")
        if values.get(f"forever-{key}"):
            chosen[key] = None
        elif days_text.isdigit():
            chosen[key] = int(days_text)
        elif days_text or period.is_set:
            errors.add(f"days-{key}", gettext("Enter a whole number of days, or keep forever."))
    due_days_text = values.get("data_request_due_days", "")
    if not due_days_text.isdigit():
        errors.add("data_request_due_days", gettext("Use 1 to 30 days."))
    if not errors:
        try:
            retention.set_periods(session, available, chosen)
            data_requests.update_settings(session, data_request_due_days=int(due_days_text))
        except ValidationFailed as problem:
            session.rollback()
            errors.update(problem, rename={key: f"days-{key}" for key in chosen})
    if errors:
        return _page(values, errors, 422)
    session.commit()
    flash(gettext("Saved."), "success")
    return redirect(url_for("tenant.admin_privacy.privacy"))
