"""Administration → Quiet hours (免打扰时段) for messages to borrowers, and the log of those
messages (借款人消息记录): filters, pages, and sending a failed message again; the tenant's SMS
templates (短信模板)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from loandesk import extension
from loandesk.db import utcnow
from loandesk.errors import Conflict, ValidationFailed
from loandesk.notifications import message_log, quiet, service, sms_templates
from loandesk.notifications.models import Message
from loandesk.plugins import runtime
from loandesk.tenancy import current
from loandesk.web.auth_views import permission_required
from loandesk.web.forms import FormErrors
from loandesk.web.htmx import htmx
from loandesk.web.paging import page_asked
from loandesk.web.records import record_link

bp = Blueprint("admin_notifications", __name__, url_prefix="/admin/notifications")
MANAGE, READ_LOG = "notifications.manage", "notifications.read_log"
FILTERS = ("state", "channel", "record_type", "record_id", "created_from", "created_to")
PER_PAGE = 20


@bp.route("/quiet-hours", methods=["GET", "POST"], endpoint="quiet_hours")
@permission_required(MANAGE)
def quiet_hours_page() -> Any:
    session, errors = extension.session(), FormErrors()
    hours = quiet.hours_of(session)
    values = {"start": f"{hours.start:%H:%M}", "end": f"{hours.end:%H:%M}"}
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip()[:10] for k in ("start", "end")}
        try:
            quiet.set_hours(session, values["start"], values["end"])
        except ValidationFailed as problem:
            session.rollback()
            errors.update(problem)
        else:
            session.commit()
            flash(gettext("Saved."), "success")
            return redirect(url_for("tenant.admin_notifications.quiet_hours"))
    return render_template(
        "admin/notifications/quiet_hours.html",
        values=values,
        errors=errors,
        saved=hours,
        timezone=current().timezone,
    ), (422 if errors else 200)


@dataclass(frozen=True)
class Row:
    """A message as the log shows it."""

    message: Message
    channel: str
    record_label: str
    record_url: str | None
    held_until: datetime | None
    next_attempt_at: datetime | None


def _rows(messages: list[Message]) -> list[Row]:
    channels, now = runtime.notification_channels(), utcnow()
    locale = str(get_locale() or "zh")
    shown = []
    for message in messages:
        channel = channels.get(message.channel)
        label, url = record_link(message.record_type, message.record_id)
        shown.append(
            Row(
                message,
                channel.label(locale) if channel else message.channel,
                label,
                url,
                message_log.held_until(message, now),
                message_log.next_attempt_at(message, now),
            )
        )
    return shown


def _date(values: dict[str, str], key: str, errors: FormErrors) -> date | None:
    try:
        return date.fromisoformat(values[key]) if values[key] else None
    except ValueError:
        errors.add(key, gettext("Use a date like 2026-03-01."))
        return None


def _filter(values: dict[str, str], errors: FormErrors) -> message_log.LogFilter:
    if values["state"] not in ("", *message_log.STATES):
        errors.add("state", gettext("Choose from the list."))
    return message_log.LogFilter(
        state=values["state"] if values["state"] in message_log.STATES else "",
        channel=values["channel"],
        record_type=values["record_type"],
        record_id=values["record_id"],
        created_from=_date(values, "created_from", errors),
        created_to=_date(values, "created_to", errors),
    )


def _channel_options() -> list[tuple[str, str]]:
    locale = str(get_locale() or "zh")
    return [
        (key, channel.label(locale))
        for key, channel in sorted(runtime.notification_channels().items())
        if channel.reaches("borrower")
    ]


def _record_type_options() -> list[tuple[str, str]]:
    locale = str(get_locale() or "zh")
    return [(t.key, t.label(locale)) for t in runtime.record_types()]


@bp.get("/messages", endpoint="messages")
@permission_required(READ_LOG)
def messages_page() -> Any:
    values = {k: request.args.get(k, "").strip()[:64] for k in FILTERS}
    errors = FormErrors()
    log_filter = _filter(values, errors)
    page = page_asked()
    result = message_log.search(
        extension.session(),
        log_filter,
        current().timezone,
        now=utcnow(),
        page=page,
        per_page=PER_PAGE,
    )
    context = {
        "result": result,
        "rows": _rows(result.items),
        "values": values,
        "errors": errors,
        "params": {k: v for k, v in values.items() if v},
        "filtered": any(values.values()),
        "channel_options": _channel_options(),
        "record_type_options": _record_type_options(),
    }
    template = "admin/notifications/_messages.html" if htmx else "admin/notifications/messages.html"
    return render_template(template, **context), (422 if errors else 200)


@bp.post("/messages/<uuid:message_id>/retry", endpoint="retry")
@permission_required(MANAGE)
def retry(message_id: uuid.UUID) -> Any:
    """Send a failed message again; htmx swaps its row (which shows what became of it), a
    plain form post reloads the log with a message."""
    session = extension.session()
    message = message_log.get(session, message_id)
    try:
        service.retry(session, message, timezone=current().timezone)
    except Conflict as problem:
        session.rollback()
        outcome, kind = gettext(problem.message), "error"
    else:
        session.commit()
        outcome, kind = gettext("The message is in the outbox again."), "success"
    if htmx:
        return render_template("admin/notifications/_message_row.html", row=_rows([message])[0])
    flash(outcome, kind)
    params: dict[str, Any] = {k: v for k in FILTERS if (v := request.form.get(k, "").strip()[:64])}
    return redirect(url_for("tenant.admin_notifications.messages", **params))


TEMPLATE_FIELDS = ("key", "name", "text", "provider_code")


@bp.get("/sms-templates", endpoint="sms_templates")
@permission_required(MANAGE)
def sms_templates_page() -> Any:
    """Administration → SMS templates (短信模板), a page at a time."""
    page = page_asked()
    rows, total = sms_templates.page(extension.session(), page=page, per_page=PER_PAGE)
    result = message_log.Page(rows, page, PER_PAGE, total)  # type: ignore[arg-type]
    return render_template("admin/notifications/sms_templates.html", result=result)


@bp.route("/sms-templates/new", methods=["GET", "POST"], endpoint="sms_template_new")
@bp.route("/sms-templates/<uuid:template_id>", methods=["GET", "POST"], endpoint="sms_template")
@permission_required(MANAGE)
def sms_template_form(template_id: uuid.UUID | None = None) -> Any:
    """Add an SMS template, or change one (its key stays)."""
    session, errors = extension.session(), FormErrors()
    row = sms_templates.get(session, template_id) if template_id else None
    values: dict[str, Any] = {k: getattr(row, k) if row else "" for k in TEMPLATE_FIELDS}
    values["enabled"] = row.enabled if row else True
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip()[:600] for k in TEMPLATE_FIELDS}
        values["enabled"] = request.form.get("enabled") == "on"
        try:
            if row is None:
                sms_templates.create(session, values)
            else:
                sms_templates.update(session, row, values)
        except (ValidationFailed, Conflict) as problem:
            session.rollback()
            errors.update(problem)
        else:
            session.commit()
            flash(gettext("Saved."), "success")
            return redirect(url_for("tenant.admin_notifications.sms_templates"))
    return render_template(
        "admin/notifications/sms_template_form.html", row=row, values=values, errors=errors
    ), (422 if errors else 200)


@bp.post("/sms-templates/<uuid:template_id>/delete", endpoint="sms_template_delete")
@permission_required(MANAGE)
def sms_template_delete(template_id: uuid.UUID) -> Any:
    session = extension.session()
    sms_templates.delete(session, sms_templates.get(session, template_id))
    session.commit()
    flash(gettext("The SMS template is removed."), "success")
    return redirect(url_for("tenant.admin_notifications.sms_templates"))
