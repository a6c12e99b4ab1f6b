"""A saved report's e-mail schedule (定时发送) on its page: its subscriptions (when, in words
where the cron is a common one, the next send in the tenant's time, to whom, as what) and a
form to add or change one — a preset ("every Monday at 08:00") or any cron, staff members of
the tenant, the format — and to delete one. Only for the report's owner or who holds
``reports.manage``; the service (``reports.subscriptions``) checks and audits, a problem comes
back next to its field (htmx swaps the panel; without JavaScript the page comes back)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from sqlalchemy import select

from loandesk import extension
from loandesk.errors import Forbidden, NotFound, ValidationFailed
from loandesk.reports import saved, subscriptions
from loandesk.reports.models import Report
from loandesk.reports.subscriptions import ReportSubscription
from loandesk.tenancy import current
from loandesk.web.auth_views import login_required
from loandesk.web.htmx import htmx
from loandesk.web.report_views import bp

TARGET = "report-subscriptions"
PRESETS = ("0 8 * * 1", "0 8 * * *", "0 8 1 * *")
WEEKDAYS = {
    "0": lazy_gettext("Sunday"),
    "1": lazy_gettext("Monday"),
    "2": lazy_gettext("Tuesday"),
    "3": lazy_gettext("Wednesday"),
    "4": lazy_gettext("Thursday"),
    "5": lazy_gettext("Friday"),
    "6": lazy_gettext("Saturday"),
    "7": lazy_gettext("Sunday"),
}


def describe_cron(cron: str) -> str | None:
    """A common cron in words ("every Monday at 08:00"); None for any other (shown as is)."""
    parts = cron.split()
    if len(parts) != 5 or not (parts[0].isdigit() and parts[1].isdigit()) or parts[3] != "*":
        return None
    minute, hour, day, _month, weekday = parts
    if int(hour) > 23 or int(minute) > 59:
        return None
    time = f"{int(hour):02d}:{int(minute):02d}"
    if day == "*" and weekday == "*":
        return gettext("Every day at %(time)s", time=time)
    if day == "*" and weekday in WEEKDAYS:
        return gettext("Every %(weekday)s at %(time)s", weekday=WEEKDAYS[weekday], time=time)
    if day == "*" and weekday == "1-5":
        return gettext("Every working day (Monday to Friday) at %(time)s", time=time)
    if day.isdigit() and 1 <= int(day) <= 31 and weekday == "*":
        return gettext("On day %(day)s of every month at %(time)s", day=int(day), time=time)
    return None


def format_names() -> dict[str, str]:
    return {
        "inline": gettext("A table in the message"),
        "csv": gettext("A link to the CSV file"),
        "xlsx": gettext("A link to the Excel file"),
    }


@dataclass
class Editing:
    """The schedule form: a new subscription (``id`` None) or one being changed, as posted."""

    id: uuid.UUID | None = None
    preset: str = PRESETS[0]
    cron: str = ""
    recipients: list[str] = field(default_factory=list)
    format: str = "inline"
    enabled: bool = True
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, row: ReportSubscription) -> Editing:
        preset = row.cron if row.cron in PRESETS else ""
        return cls(row.id, preset, row.cron, list(row.recipients), row.format, row.enabled)

    @classmethod
    def posted(cls, form: Any, ident: uuid.UUID | None) -> Editing:
        preset = form.get("preset", "")
        return cls(
            id=ident,
            preset=preset if preset in PRESETS else "",
            cron=form.get("cron", "").strip(),
            recipients=[r for r in form.getlist("recipients") if r],
            format=form.get("format", "inline"),
            enabled=bool(form.get("enabled")) if ident is not None else True,
        )

    def data(self) -> dict[str, Any]:
        """What the service takes: the preset's cron, else the one typed."""
        recipients = []
        for text in self.recipients:
            try:
                recipients.append(uuid.UUID(text))
            except ValueError:
                self.errors.setdefault("recipients", []).append(
                    gettext("No active staff member %(id)s.", id=text)
                )
        return {
            "cron": self.preset or self.cron,
            "recipients": recipients,
            "format": self.format,
            "enabled": self.enabled,
        }


def panel(report: Report, editing: Editing | None = None, note: str = "") -> dict[str, Any]:
    """What ``reports/_subscriptions.html`` draws for ``report``."""
    from loandesk.auth.models import User

    session = extension.session()
    rows = subscriptions.list_for(session, report)
    timezone = current().timezone
    staff = list(
        session.scalars(
            select(User).where(User.status == "active").order_by(User.display_name, User.id)
        )
    )
    names = {str(u.id): u.display_name for u in staff}
    others = {uuid.UUID(i) for r in rows for i in r.recipients if i not in names}
    if others:
        found = session.scalars(select(User).where(User.id.in_(others)))
        names.update({str(u.id): u.display_name for u in found})
    return {
        "report": report,
        "subscriptions": [_listed(r, names, timezone) for r in rows],
        "editing": editing or Editing(),
        "staff": [(str(u.id), u.display_name) for u in staff],
        "presets": [(cron, describe_cron(cron) or cron) for cron in PRESETS],
        "formats": format_names(),
        "timezone": timezone,
        "note": note,
    }


def _listed(row: ReportSubscription, names: Mapping[str, str], timezone: str) -> dict[str, Any]:
    next_due: datetime | None = subscriptions.next_due(row, timezone) if row.enabled else None
    return {
        "row": row,
        "schedule": describe_cron(row.cron),
        "next_due": next_due,
        "recipients": [names.get(i, i) for i in row.recipients],
    }


def _managed(report_id: uuid.UUID) -> Report:
    """The report, when the signed-in staff member manages its subscriptions: 404 when they
    do not see it, 403 when they only see it."""
    try:
        report = saved.get(extension.session(), g.user, report_id)
        subscriptions.may_manage(g.user, report)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    return report


def _subscription(report: Report, subscription_id: uuid.UUID) -> ReportSubscription:
    try:
        return subscriptions.get(extension.session(), report, subscription_id)
    except NotFound:
        abort(404)


@bp.get("/<uuid:report_id>/subscriptions", endpoint="subscriptions")
@login_required
def show(report_id: uuid.UUID) -> Any:
    """The panel (to htmx), with subscription ``edit`` in the form when asked."""
    report = _managed(report_id)
    editing = _editing(report, request.args.get("edit", ""))
    if not htmx:
        return redirect(_page_url(report, editing))
    return _panel(report, editing)


def _editing(report: Report, text: str) -> Editing | None:
    if not text:
        return None
    try:
        return Editing.of(_subscription(report, uuid.UUID(text)))
    except ValueError:
        abort(404)


@bp.post("/<uuid:report_id>/subscriptions", endpoint="subscription_create")
@login_required
def create(report_id: uuid.UUID) -> Any:
    report = _managed(report_id)
    editing = Editing.posted(request.form, None)
    return _saved(report, editing, None)


@bp.post("/<uuid:report_id>/subscriptions/<uuid:subscription_id>", endpoint="subscription_update")
@login_required
def update(report_id: uuid.UUID, subscription_id: uuid.UUID) -> Any:
    report = _managed(report_id)
    row = _subscription(report, subscription_id)
    editing = Editing.posted(request.form, row.id)
    return _saved(report, editing, row)


@bp.post(
    "/<uuid:report_id>/subscriptions/<uuid:subscription_id>/delete",
    endpoint="subscription_delete",
)
@login_required
def delete(report_id: uuid.UUID, subscription_id: uuid.UUID) -> Any:
    report = _managed(report_id)
    session = extension.session()
    subscriptions.delete(session, g.user, report, _subscription(report, subscription_id))
    session.commit()
    return _done(report, gettext("Schedule deleted."))


def _saved(report: Report, editing: Editing, row: ReportSubscription | None) -> Any:
    session = extension.session()
    data = editing.data()
    timezone = current().timezone
    if not editing.errors:
        try:
            if row is None:
                subscriptions.create(session, g.user, report, data, timezone=timezone)
            else:
                subscriptions.update_subscription(
                    session, g.user, report, row, data, timezone=timezone
                )
        except ValidationFailed as problem:
            session.rollback()
            for key, found in (problem.errors or {}).items():
                known = editing.errors.setdefault(key, [])
                known.extend(m for m in found if m not in known)
    if editing.errors:
        if htmx:
            return _panel(report, editing, code=422)
        from loandesk.web.report_views.pages import report_page

        return report_page(report, panel(report, editing), code=422)
    session.commit()
    return _done(report, gettext("Schedule saved."))


def _done(report: Report, note: str) -> Any:
    if htmx:
        return _panel(report, None, note=note)
    flash(note, "success")
    return redirect(_page_url(report, None))


def _panel(report: Report, editing: Editing | None, note: str = "", code: int = 200) -> Any:
    return render_template(
        "reports/_subscriptions.html", schedule=panel(report, editing, note=note)
    ), code


def _page_url(report: Report, editing: Editing | None) -> str:
    if editing is None or editing.id is None:
        return url_for("tenant.reports.view", report_id=report.id, _anchor=TARGET)
    return url_for(
        "tenant.reports.view", report_id=report.id, subscription=editing.id, _anchor=TARGET
    )
