"""Channel pages: administration of channels, agents and costs; the lead list and a lead's
page (convert, follow up) under the user's data scope; and the public lead form, which
needs no sign-in (CSRF-checked, rate-limited per client address)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from loandesk import sdk
from loandesk_channels import leads, service
from loandesk_channels.models import KINDS
from loandesk_channels.record_type import STATUSES

bp = Blueprint("channels", __name__, url_prefix="/channels", template_folder="templates")

PER_PAGE = 50
KIND_LABELS = {
    "agent": ("中介/代理", "Agent or broker"),
    "online_ad": ("线上广告", "Online ad"),
    "street": ("地推", "Street promotion"),
    "partner": ("合作机构", "Partner"),
}


def _form_url() -> str:
    return url_for("tenant.channels.apply", _external=True)


# --- administration ---------------------------------------------------------------------------


def _admin_page(errors: sdk.FormErrors | None = None, values: Any = None, status: int = 200) -> Any:
    session = sdk.session()
    channels = service.list_channels(session)
    agents = service.list_agents(session)
    users = sdk.display_names(session, [a.user_id for a in agents])
    return render_template(
        "channels/index.html",
        channels=channels,
        by_id={c.id: c for c in channels},
        agents=[(a, users.get(a.user_id, ""), service.agent_link(_form_url(), a)) for a in agents],
        staff=[(str(u.id), u.display_name) for u in sdk.active_staff(session)],
        parents=[(str(c.id), c.name) for c in channels if c.parent_id is None],
        channel_options=[(str(c.id), f"{c.code} {c.name}") for c in channels],
        costs=service.list_costs(session)[:50],
        kinds=[(k, KIND_LABELS[k][1]) for k in KINDS],
        errors=errors or sdk.FormErrors(),
        values=values or {},
    ), status


@bp.get("/", endpoint="index")
@sdk.permission_required("channels.manage")
def channels_page() -> Any:
    return _admin_page()


def _posted(action: Any) -> Any:
    values = {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}
    try:
        action(values)
    except sdk.ValidationFailed as error:
        errors = sdk.FormErrors()
        errors.update(error)
        sdk.session().rollback()
        return _admin_page(errors, values, 422)
    sdk.session().commit()
    flash(gettext("Saved."), "success")
    return redirect(url_for("tenant.channels.index"))


@bp.post("/", endpoint="create")
@sdk.permission_required("channels.manage")
def channel_create() -> Any:
    def create(values: dict[str, Any]) -> None:
        parent = values.get("parent_id") or None
        service.create_channel(
            sdk.session(), {**values, "parent_id": _uuid(parent) if parent else None}
        )

    return _posted(create)


@bp.post("/agents", endpoint="agent_create")
@sdk.permission_required("channels.manage")
def agent_create() -> Any:
    def create(values: dict[str, Any]) -> None:
        service.create_agent(
            sdk.session(),
            user_id=_uuid(values.get("user_id")),
            channel_id=_uuid(values.get("channel_id")),
        )

    return _posted(create)


@bp.post("/costs", endpoint="cost_create")
@sdk.permission_required("channels.manage")
def cost_create() -> Any:
    def create(values: dict[str, Any]) -> None:
        given = {**values, "channel_id": _uuid(values.get("channel_id"))}
        service.add_cost(sdk.session(), given, created_by_id=g.user.id)

    return _posted(create)


def _uuid(text: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return uuid.UUID(int=0)


# --- leads ------------------------------------------------------------------------------------


@bp.get("/leads", endpoint="leads")
@sdk.login_required
def lead_list() -> Any:
    access, keys = sdk.record_access("lead"), sdk.keyring()
    if not access.can_read:
        abort(403)
    session = sdk.session()
    status = request.args.get("status") or None
    status = status if status in {value for value, _, _ in STATUSES} else None
    found = list(session.scalars(leads.lead_query(access, status=status).limit(PER_PAGE)))
    rows = [(lead, access.present(lead, keys)) for lead in found]
    access.audit_shown(session)
    session.commit()
    agent = service.agent_of(session, g.user.id)
    return render_template(
        "channels/leads.html",
        rows=rows,
        status=status,
        statuses=STATUSES,
        channels={c.id: c for c in service.list_channels(session)},
        my_link=service.agent_link(_form_url(), agent) if agent else None,
    )


@bp.route("/leads/<uuid:lead_id>", methods=["GET", "POST"], endpoint="lead")
@sdk.login_required
def lead_page(lead_id: uuid.UUID) -> Any:
    from loandesk_channels.api import convert_lead

    access, keys = sdk.record_access("lead"), sdk.keyring()
    session = sdk.session()
    try:
        lead = leads.get_lead(session, access, lead_id)
    except sdk.NotFound:
        abort(404)
    errors, values, status = sdk.FormErrors(), {}, 200
    can_convert = g.user.can("channels.convert")
    if request.method == "POST":
        if not can_convert:
            abort(403)
        values = {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}
        try:
            if values.get("action") == "status":
                leads.set_status(session, access, lead, values.get("status", ""))
            else:
                done = convert_lead(lead.id, values)
                session.commit()
                flash(gettext("The lead is now a draft application."), "success")
                return redirect(url_for("tenant.intake.detail", application_id=done.application_id))
            session.commit()
            return redirect(url_for("tenant.channels.lead", lead_id=lead.id))
        except (sdk.ValidationFailed, sdk.Conflict) as error:
            session.rollback()
            lead = leads.get_lead(session, access, lead_id)
            errors.update(error)
            status = 422 if isinstance(error, sdk.ValidationFailed) else 409
    shown = access.present(lead, keys)
    access.audit_shown(session)
    link = leads.application_of(session, lead.id)
    channel = service.get_channel(session, lead.channel_id) if lead.channel_id else None
    session.commit()
    return render_template(
        "channels/lead.html",
        lead=lead,
        shown=shown,
        fields=access.visible_fields(),
        channel=channel,
        link=link,
        can_convert=can_convert and lead.status != "converted",
        statuses=[(s, en) for s, _, en in STATUSES if s != "converted"],
        errors=errors,
        values=values,
    ), status


# --- the public lead form ---------------------------------------------------------------------


@bp.route("/apply", methods=["GET", "POST"], endpoint="apply")
def apply() -> Any:
    """The public lead form (no sign-in): the link's query string is its attribution, kept
    in hidden fields from the first visit to the submission."""
    consent = gettext(leads.consent_text())
    errors = sdk.FormErrors()
    source = request.form if request.method == "POST" else request.args
    # the page that sent the visitor here, kept from the first visit (the submission's own
    # Referer is this form)
    referrer = source.get("referrer") or (request.referrer if request.method == "GET" else None)
    attribution = leads.Attribution.from_query(source, referrer=referrer)
    hidden = {
        "ref": attribution.ref or "",
        "channel": attribution.channel or "",
        **dict(attribution.utm or {}),
        "referrer": attribution.referrer or "",
        "landed_at": (attribution.landed_at or sdk.utcnow()).isoformat(),
    }
    values: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        sdk.check_public_form("channels.apply")
        values = {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}
        try:
            leads.capture_lead(
                sdk.session(), sdk.keyring(), values, attribution, consent_shown=consent
            )
        except sdk.ValidationFailed as error:
            sdk.session().rollback()
            errors.update(error)
            status = 422
        else:
            sdk.session().commit()
            return render_template("channels/thanks.html")
    return render_template(
        "channels/apply.html", hidden=hidden, values=values, errors=errors, consent=consent
    ), status
