"""Data-subject requests (个人信息权利请求): the list with filters, recording a request, its page
with the next steps and history, and correcting it."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from loandesk import extension, pii
from loandesk.errors import Conflict, ValidationFailed
from loandesk.privacy import requests as service
from loandesk.privacy import search as finder
from loandesk.privacy.models import KINDS, STATUSES, DataRequest
from loandesk.tenancy import current
from loandesk.web.auth_views import permission_required
from loandesk.web.forms import FormErrors
from loandesk.web.htmx import htmx
from loandesk.web.paging import page_asked

bp = Blueprint("data_requests", __name__, url_prefix="/data-requests")
READ, MANAGE = "data_requests.read", "data_requests.manage"
PER_PAGE = 20
FILTERS = ("status", "kind", "overdue", "handler_id", "received_from", "received_to")
FIELDS = (
    "kind",
    "subject_name",
    "subject_id_number",
    "subject_mobile",
    "received_on",
    "due_on",
    "handler_id",
    "notes",
)


def _today() -> date:
    return service.local_today(current().timezone)


def _date(values: dict[str, str], key: str, errors: FormErrors) -> date | None:
    try:
        return date.fromisoformat(values[key]) if values.get(key) else None
    except ValueError:
        errors.add(key, gettext("Use a date like 2026-03-01."))
        return None


def _uuid(values: dict[str, str], key: str, errors: FormErrors) -> uuid.UUID | None:
    try:
        return uuid.UUID(values[key]) if values.get(key) else None
    except ValueError:
        errors.add(key, gettext("Choose from the list."))
        return None


def _filter(values: dict[str, str], errors: FormErrors) -> finder.RequestFilter:
    return finder.RequestFilter(
        status=values["status"] if values["status"] in ("open", *STATUSES) else "",
        kind=values["kind"] if values["kind"] in KINDS else "",
        overdue=values["overdue"] in ("1", "on", "true"),
        handler_id=_uuid(values, "handler_id", errors),
        received_from=_date(values, "received_from", errors),
        received_to=_date(values, "received_to", errors),
    )


def _list_context(values: dict[str, str], result: finder.Page | None, **extra: Any) -> Any:
    session = extension.session()
    return {
        "values": values,
        "result": result,
        "params": {k: v for k, v in values.items() if v and k in FILTERS},
        "today": _today(),
        "counts": finder.counts(session, _today()),
        "handlers": service.possible_handlers(session),
        "keys": pii.for_current_tenant(),
        **extra,
    }


@bp.get("", endpoint="requests")
@permission_required(READ)
def request_list() -> Any:
    values = {k: request.args.get(k, "").strip()[:40] for k in FILTERS}
    errors = FormErrors()
    request_filter = _filter(values, errors)
    page = page_asked()
    result = finder.search(
        extension.session(),
        pii.for_current_tenant(),
        request_filter,
        today=_today(),
        page=page,
        per_page=PER_PAGE,
    )
    context = _list_context(values, result, errors=errors, subject="", search_errors=FormErrors())
    template = "privacy/_requests_table.html" if htmx else "privacy/requests.html"
    return render_template(template, **context), (422 if errors else 200)


@bp.post("/search")
@permission_required(READ)
def request_search() -> Any:
    """A person's requests by their exact name, ID number or mobile number. A POST, so that
    the number never appears in a URL (URLs end up in access logs and browser history)."""
    values = {k: request.form.get(k, "").strip()[:40] for k in FILTERS}
    subject = request.form.get("subject", "").strip()[:100]
    errors, search_errors = FormErrors(), FormErrors()
    request_filter = _filter(values, errors)
    result = None
    if not subject:
        search_errors.add("subject", gettext("Enter a name, ID number or mobile number."))
    else:
        try:
            result = finder.search(
                extension.session(),
                pii.for_current_tenant(),
                replace(request_filter, subject=subject),
                today=_today(),
                per_page=100,
            )
        except ValidationFailed as problem:
            search_errors.update(problem)
    context = _list_context(
        values, result, errors=errors, subject=subject, search_errors=search_errors
    )
    return render_template("privacy/requests.html", **context), (
        422 if search_errors or errors else 200
    )


def _form_values(source: Any = None) -> dict[str, str]:
    source = source if source is not None else {}
    return {k: str(source.get(k, "") or "").strip() for k in FIELDS}


@bp.route("/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def request_new() -> Any:
    errors = FormErrors()
    values = _form_values(request.form) if request.method == "POST" else _form_values()
    if request.method == "GET":
        values["received_on"] = _today().isoformat()
        values["handler_id"] = str(g.user.id)
    if request.method == "POST":
        received_on = _date(values, "received_on", errors)
        due_on = _date(values, "due_on", errors)
        handler_id = _uuid(values, "handler_id", errors)
        if not errors:
            try:
                created = service.create_request(
                    extension.session(),
                    pii.for_current_tenant(),
                    kind=values["kind"],
                    subject_name=values["subject_name"],
                    subject_id_number=values["subject_id_number"] or None,
                    subject_mobile=values["subject_mobile"] or None,
                    received_on=received_on,
                    due_on=due_on,
                    handler_id=handler_id,
                    notes=values["notes"],
                    today=_today(),
                    acting_user_id=g.user.id,
                )
            except ValidationFailed as problem:
                extension.session().rollback()
                errors.update(problem)
            else:
                extension.session().commit()
                flash(
                    gettext("Request No. %(number)s is recorded.", number=created.number), "success"
                )
                return redirect(url_for("tenant.data_requests.detail", request_id=created.id))
    return render_template(
        "privacy/request_form.html",
        item=None,
        values=values,
        errors=errors,
        handlers=service.possible_handlers(extension.session()),
        due_days=service.get_settings(extension.session()).data_request_due_days,
    ), (422 if errors else 200)


def _detail(item: DataRequest, errors: FormErrors | None = None, note: str = "") -> Any:
    session = extension.session()
    return render_template(
        "privacy/request.html",
        item=item,
        subject=finder.masked_subject(item, pii.for_current_tenant()),
        history=service.history(session, item),
        next_steps=service.TRANSITIONS.get(item.status, ()),
        today=_today(),
        errors=errors or FormErrors(),
        note=note,
    )


@bp.get("/<uuid:request_id>", endpoint="detail")
@permission_required(READ)
def request_detail(request_id: uuid.UUID) -> Any:
    return _detail(service.get_request(extension.session(), request_id))


@bp.post("/<uuid:request_id>/status", endpoint="status")
@permission_required(MANAGE)
def request_status(request_id: uuid.UUID) -> Any:
    item = service.get_request(extension.session(), request_id)
    to, note = request.form.get("to", ""), request.form.get("note", "")
    try:
        service.transition(extension.session(), item, to, note=note, acting_user_id=g.user.id)
    except (ValidationFailed, Conflict) as problem:
        extension.session().rollback()
        errors = FormErrors()
        errors.update(problem, rename={"status": "to"})
        item = service.get_request(extension.session(), request_id)
        return _detail(item, errors, note), problem.status
    extension.session().commit()
    flash(gettext("Saved."), "success")
    return redirect(url_for("tenant.data_requests.detail", request_id=item.id))


@bp.post("/<uuid:request_id>/reveal", endpoint="reveal")
@permission_required(MANAGE)
def request_reveal(request_id: uuid.UUID) -> Any:
    """The subject's data in full, to answer the person (recorded in the audit log)."""
    item = service.get_request(extension.session(), request_id)
    if item.anonymised_at is not None:
        abort(409)
    subject = finder.reveal(extension.session(), pii.for_current_tenant(), item)
    extension.session().commit()
    return render_template("privacy/_subject.html", item=item, subject=subject, revealed=True)


@bp.route("/<uuid:request_id>/edit", methods=["GET", "POST"], endpoint="edit")
@permission_required(MANAGE)
def request_edit(request_id: uuid.UUID) -> Any:
    session = extension.session()
    item = service.get_request(session, request_id)
    errors = FormErrors()
    values = _form_values(
        {
            "due_on": item.due_on.isoformat(),
            "handler_id": item.handler_id or "",
            "notes": item.notes,
        }
    )
    if request.method == "POST":
        values = _form_values(request.form)
        due_on = _date(values, "due_on", errors)
        handler_id = _uuid(values, "handler_id", errors)
        changes: dict[str, Any] = {"handler_id": handler_id, "notes": values["notes"]}
        if not values["due_on"]:
            errors.add("due_on", gettext("Enter a date."))
        elif due_on is not None:
            changes["due_on"] = due_on
        # personal fields are never shown in the form: a blank one stays as it is
        for field in ("subject_name", "subject_id_number", "subject_mobile"):
            if values[field]:
                changes[field] = values[field]
        if not errors:
            try:
                service.update_request(session, pii.for_current_tenant(), item, **changes)
            except (ValidationFailed, Conflict) as problem:
                session.rollback()
                errors.update(problem)
                item = service.get_request(session, request_id)
            else:
                session.commit()
                flash(gettext("Saved."), "success")
                return redirect(url_for("tenant.data_requests.detail", request_id=item.id))
    return render_template(
        "privacy/request_form.html",
        item=item,
        subject=finder.masked_subject(item, pii.for_current_tenant()),
        values=values,
        errors=errors,
        handlers=service.possible_handlers(session),
        due_days=None,
    ), (422 if errors else 200)
