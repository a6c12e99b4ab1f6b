"""Administration → Webhooks (事件推送): the tenant's subscriptions with their state, a form
to add or change one, and each subscription's delivery log with every attempt's request and
answer, a resend button (htmx) and a test ping."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from loandesk import extension
from loandesk.errors import Conflict, ValidationFailed
from loandesk.web.auth_views import permission_required
from loandesk.web.forms import FormErrors
from loandesk.web.htmx import htmx
from loandesk.web.paging import page_asked
from loandesk.webhooks import service

bp = Blueprint("admin_webhooks", __name__, url_prefix="/admin/webhooks")
MANAGE = "automations.manage"
PER_PAGE = 20


def _event_types() -> Any:
    return current_app.extensions["loandesk.events"].types


def _event_options() -> list[tuple[str, str]]:
    zh = str(get_locale() or "zh").startswith("zh")
    types = sorted(_event_types().values(), key=lambda t: t.name)
    return [("*", gettext("All events"))] + [
        (t.name, t.label_zh if zh else t.label_en) for t in types
    ]


@bp.get("", endpoint="index")
@permission_required(MANAGE)
def index() -> Any:
    rows, total = service.list_subscriptions(extension.session(), per_page=100)
    return render_template("admin/webhooks/index.html", rows=rows, total=total)


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@bp.route("/<uuid:subscription_id>/edit", methods=["GET", "POST"], endpoint="edit")
@permission_required(MANAGE)
def edit(subscription_id: uuid.UUID | None = None) -> Any:
    from flask import g

    session, errors = extension.session(), FormErrors()
    row = service.get(session, subscription_id) if subscription_id else None
    values: dict[str, Any] = {
        "url": row.url if row else "",
        "events": list(row.events) if row else [],
        "description": row.description if row else "",
    }
    if request.method == "POST":
        values = {
            "url": request.form.get("url", "").strip()[:2000],
            "events": request.form.getlist("events")[:200],
            "description": request.form.get("description", "").strip()[:500],
        }
        try:
            if row is None:
                row = service.create(session, values, _event_types(), user_id=g.user.id)
            else:
                service.update_subscription(session, row, values, _event_types())
        except ValidationFailed as problem:
            session.rollback()
            errors.update(problem)
        else:
            session.commit()
            flash(gettext("Saved."), "success")
            return redirect(url_for("tenant.admin_webhooks.index"))
    return render_template(
        "admin/webhooks/edit.html",
        row=row,
        values=values,
        errors=errors,
        event_options=_event_options(),
    ), (422 if errors else 200)


@bp.post("/<uuid:subscription_id>/active", endpoint="active")
@permission_required(MANAGE)
def set_active(subscription_id: uuid.UUID) -> Any:
    session = extension.session()
    row = service.get(session, subscription_id)
    service.set_active(session, row, request.form.get("active") == "1")
    session.commit()
    flash(gettext("Saved."), "success")
    return redirect(url_for("tenant.admin_webhooks.index"))


@bp.post("/<uuid:subscription_id>/ping", endpoint="ping")
@permission_required(MANAGE)
def ping(subscription_id: uuid.UUID) -> Any:
    session = extension.session()
    service.ping(session, service.get(session, subscription_id))
    session.commit()
    flash(gettext("A test delivery is on its way."), "success")
    return redirect(url_for("tenant.admin_webhooks.log", subscription_id=subscription_id))


@bp.get("/<uuid:subscription_id>/log", endpoint="log")
@permission_required(MANAGE)
def delivery_log(subscription_id: uuid.UUID) -> Any:
    session = extension.session()
    row = service.get(session, subscription_id)
    page = page_asked()
    deliveries, total = service.list_deliveries(session, row, page=page, per_page=PER_PAGE)
    return render_template(
        "admin/webhooks/log.html",
        row=row,
        deliveries=deliveries,
        total=total,
        page=page,
        pages=(total + PER_PAGE - 1) // PER_PAGE,
    )


@bp.post("/deliveries/<uuid:delivery_id>/resend", endpoint="resend")
@permission_required(MANAGE)
def resend(delivery_id: uuid.UUID) -> Any:
    """Send a delivery again; htmx swaps its entry, a plain post reloads the log."""
    session = extension.session()
    delivery = service.get_delivery(session, delivery_id)
    try:
        service.resend(session, delivery)
    except Conflict as problem:
        session.rollback()
        outcome, kind = gettext(problem.message), "error"
    else:
        session.commit()
        outcome, kind = gettext("The delivery will be sent again."), "success"
    if htmx:
        return render_template("admin/webhooks/_delivery.html", delivery=delivery)
    flash(outcome, kind)
    return redirect(url_for("tenant.admin_webhooks.log", subscription_id=delivery.subscription_id))
