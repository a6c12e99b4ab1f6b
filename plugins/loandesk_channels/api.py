"""``/api/v1/channels``: channels, agents, costs (``channels.manage``), and leads as the
staff member the API client acts for may see them (an agent: their own). A partner's client
sends leads with ``POST /channels/leads``, with the attribution its link carried. Amounts
are strings (``"50000.00"``), never JSON numbers."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loandesk import sdk
from loandesk_channels import funnel, leads, service
from loandesk_channels.models import KINDS, LEAD_STATUSES

blp = Blueprint(
    "channels",
    __name__,
    url_prefix="/channels",
    description="Channels (渠道), agents (渠道代理), leads (线索), channel costs and the "
    "channel funnel. Leads are read under the acting staff member's data scope.",
)


class LeadChannelSchema(ma.Schema):
    id = ma.fields.UUID()
    code = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "agent, online_ad, street or partner"})
    parent_id = ma.fields.UUID(allow_none=True)
    active = ma.fields.Boolean()


class LeadChannelWriteSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "Letters, digits, - or _ (unique)"})
    name = ma.fields.String()
    kind = ma.fields.String(validate=validate.OneOf(KINDS))
    parent_id = ma.fields.UUID(allow_none=True, metadata={"description": "A top-level channel"})
    active = ma.fields.Boolean()


class AgentSchema(ma.Schema):
    id = ma.fields.UUID()
    user_id = ma.fields.UUID()
    channel_id = ma.fields.UUID()
    referral_code = ma.fields.String()
    active = ma.fields.Boolean()
    link = ma.fields.String(metadata={"description": "The agent's personal lead-form link"})


class AgentWriteSchema(ma.Schema):
    user_id = ma.fields.UUID(required=True)
    channel_id = ma.fields.UUID(required=True)


class CostSchema(ma.Schema):
    id = ma.fields.UUID()
    channel_id = ma.fields.UUID()
    spent_on = ma.fields.Date()
    amount = ma.fields.String()
    note = ma.fields.String()


class CostWriteSchema(ma.Schema):
    channel_id = ma.fields.UUID(required=True)
    spent_on = ma.fields.String(required=True, metadata={"description": "2026-11-01"})
    amount = ma.fields.String(required=True, metadata={"description": '"3000.00"'})
    note = ma.fields.String(load_default="")


class LeadSchema(sdk.RecordSchema):
    """Every field the acting staff member may see (absent when hidden; the mobile masked
    unless allowed), with the lead's channel, agent and application."""

    id = ma.fields.UUID()
    name = ma.fields.String()
    mobile = ma.fields.String()
    product = ma.fields.String(allow_none=True)
    amount = ma.fields.String(allow_none=True)
    city = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"description": "new, contacted, converted or lost"})
    channel_id = ma.fields.UUID(allow_none=True)
    agent_id = ma.fields.UUID(allow_none=True)
    channel_code = ma.fields.String(allow_none=True, metadata={"description": "Top-level"})
    utm_source = ma.fields.String(allow_none=True)
    utm_medium = ma.fields.String(allow_none=True)
    utm_campaign = ma.fields.String(allow_none=True)
    utm_term = ma.fields.String(allow_none=True)
    utm_content = ma.fields.String(allow_none=True)
    referrer = ma.fields.String(allow_none=True)
    landed_at = ma.fields.String(allow_none=True)
    owner_id = ma.fields.String(allow_none=True, metadata={"description": "The agent's user"})
    org_unit_id = ma.fields.String(allow_none=True)
    created_at = ma.fields.String()
    application_id = ma.fields.UUID(allow_none=True)
    masked = ma.fields.List(ma.fields.String())


class LeadWriteSchema(ma.Schema):
    name = ma.fields.String(required=True)
    mobile = ma.fields.String(required=True)
    product = ma.fields.String(load_default=None)
    amount = ma.fields.String(load_default=None)
    city = ma.fields.String(load_default=None)
    consent = ma.fields.Boolean(
        required=True, metadata={"description": "The prospect agreed to be contacted"}
    )
    consent_text = ma.fields.String(
        load_default=None, metadata={"description": "The consent text as the partner showed it"}
    )
    ref = ma.fields.String(load_default=None, metadata={"description": "An agent's referral code"})
    channel = ma.fields.String(load_default=None, metadata={"description": "A channel's code"})
    referrer = ma.fields.String(load_default=None)
    landed_at = ma.fields.String(load_default=None)
    utm_source = ma.fields.String(load_default=None)
    utm_medium = ma.fields.String(load_default=None)
    utm_campaign = ma.fields.String(load_default=None)
    utm_term = ma.fields.String(load_default=None)
    utm_content = ma.fields.String(load_default=None)


class LeadListArgs(sdk.PageArgs):
    status = ma.fields.String(load_default=None, validate=validate.OneOf(LEAD_STATUSES))


class LeadStatusSchema(ma.Schema):
    status = ma.fields.String(required=True)


class ConvertSchema(ma.Schema):
    id_number = ma.fields.String(load_default=None)
    amount = ma.fields.String(load_default=None)
    term_months = ma.fields.Raw(required=True)


class ConversionSchema(ma.Schema):
    lead_id = ma.fields.UUID()
    customer_id = ma.fields.UUID()
    application_id = ma.fields.UUID()


class FunnelArgs(ma.Schema):
    date_from = ma.fields.Date(load_default=None)
    date_to = ma.fields.Date(load_default=None)


class FunnelRowSchema(ma.Schema):
    channel_id = ma.fields.UUID(allow_none=True)
    agent_id = ma.fields.UUID(allow_none=True)
    leads = ma.fields.Integer()
    converted = ma.fields.Integer()
    submitted = ma.fields.Integer()
    referred = ma.fields.Integer()
    approved = ma.fields.Integer()
    disbursed = ma.fields.Integer()
    cost = ma.fields.String()
    cost_per_disbursed = ma.fields.String(allow_none=True)


def present_lead(lead: Any, access: sdk.RecordAccess, keys: sdk.Keyring) -> dict[str, Any]:
    values = access.present(lead, keys, plain=True)
    link = leads.application_of(sdk.session(), lead.id)
    return {
        "id": lead.id,
        **values,
        "channel_id": lead.channel_id,
        "agent_id": lead.agent_id,
        "application_id": link.application_id if link else None,
        "masked": [k for k in access.masked_fields() if k in values],
    }


def _agent(agent: Any) -> dict[str, Any]:
    from flask import url_for

    form = url_for("tenant.channels.apply", _external=True)
    return {
        "id": agent.id,
        "user_id": agent.user_id,
        "channel_id": agent.channel_id,
        "referral_code": agent.referral_code,
        "active": agent.active,
        "link": service.agent_link(form, agent),
    }


@blp.route("")
class Channels(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, LeadChannelSchema(many=True))
    def get(self) -> Any:
        """Every channel and sub-channel, by code."""
        return service.list_channels(sdk.session())

    @sdk.require_token("records:write")
    @blp.arguments(LeadChannelWriteSchema)
    @blp.response(201, LeadChannelSchema)
    @blp.alt_response(422, description="A field is missing or wrong (named in errors)")
    def post(self, args: dict[str, Any]) -> Any:
        """A new channel (``parent_id``: a sub-channel of a top-level one)."""
        sdk.acting_user_with("channels.manage")
        channel = service.create_channel(sdk.session(), args)
        sdk.session().commit()
        return channel


@blp.route("/<uuid:channel_id>")
class ChannelById(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(LeadChannelWriteSchema)
    @blp.response(200, LeadChannelSchema)
    def patch(self, args: dict[str, Any], channel_id: uuid.UUID) -> Any:
        """Change a channel's code, name, kind, parent or whether it is active."""
        sdk.acting_user_with("channels.manage")
        channel = service.update_channel(
            sdk.session(), service.get_channel(sdk.session(), channel_id), args
        )
        sdk.session().commit()
        return channel


@blp.route("/agents")
class Agents(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, AgentSchema(many=True))
    def get(self) -> Any:
        """Every agent with their personal link."""
        sdk.acting_user_with("channels.manage")
        return [_agent(a) for a in service.list_agents(sdk.session())]

    @sdk.require_token("records:write")
    @blp.arguments(AgentWriteSchema)
    @blp.response(201, AgentSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Make a staff account an agent of a channel (give it the ``channel_agent`` role on
        the staff page)."""
        sdk.acting_user_with("channels.manage")
        agent = service.create_agent(sdk.session(), **args)
        sdk.session().commit()
        return _agent(agent)


@blp.route("/costs")
class Costs(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, CostSchema(many=True))
    def get(self) -> Any:
        """Channel costs, newest first."""
        sdk.acting_user_with("channels.manage")
        return service.list_costs(sdk.session())

    @sdk.require_token("records:write")
    @blp.arguments(CostWriteSchema)
    @blp.response(201, CostSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """What a channel cost on a day (or, dated the 1st, in a month)."""
        sdk.acting_user_with("channels.manage")
        cost = service.add_cost(sdk.session(), args, created_by_id=sdk.acting_user().id)
        sdk.session().commit()
        return cost


@blp.route("/funnel")
class Funnel(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(FunnelArgs, location="query")
    @blp.response(200, FunnelRowSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Per channel and agent: leads, converted, submitted, referred to review, approved,
        disbursed, the channel's cost and the cost per disbursed loan (leads in the acting
        staff member's scope; costs of the period)."""
        sdk.acting_user_with("channels.manage")
        return funnel.rows(sdk.session(), sdk.record_access("lead"), **args)


@blp.route("/leads")
class Leads(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(LeadListArgs, location="query")
    @blp.response(200, sdk.page_of(LeadSchema, "LeadPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Leads in the acting staff member's data scope (an agent: their own), newest first."""
        access, keys = sdk.record_access("lead"), sdk.keyring()
        query = leads.lead_query(access, status=args["status"])
        page, per_page = args["page"], args["per_page"]
        from sqlalchemy import func, select

        total = sdk.session().scalar(select(func.count()).select_from(query.subquery()))
        found = sdk.session().scalars(query.limit(per_page).offset((page - 1) * per_page))
        items = [present_lead(lead, access, keys) for lead in found]
        access.audit_shown(sdk.session())
        sdk.session().commit()
        return {"items": items, "page": page, "per_page": per_page, "total": total or 0}

    @sdk.require_token("records:write")
    @blp.arguments(LeadWriteSchema)
    @blp.response(201, LeadSchema)
    @blp.alt_response(422, description="A field is missing or wrong (named in errors)")
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """A lead from a partner (the client acts for a staff member who may manage channels,
        or for an agent, whose referral code is then used)."""
        user = sdk.acting_user()
        agent = service.agent_of(sdk.session(), user.id)
        if agent is None:
            sdk.acting_user_with("channels.manage")
        attribution = leads.Attribution.from_query(
            {**args, "ref": agent.referral_code if agent else args.get("ref")},
            referrer=args.get("referrer"),
        )
        shown = args.get("consent_text") or leads.consent_text()
        lead = leads.capture_lead(
            sdk.session(), sdk.keyring(), args, attribution, consent_shown=shown
        )
        sdk.session().commit()
        return present_lead(lead, sdk.record_access("lead"), sdk.keyring())


@blp.route("/leads/<uuid:lead_id>")
class LeadById(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, LeadSchema)
    def get(self, lead_id: uuid.UUID) -> dict[str, Any]:
        """One lead (404 outside the acting staff member's scope)."""
        access, keys = sdk.record_access("lead"), sdk.keyring()
        shown = present_lead(leads.get_lead(sdk.session(), access, lead_id), access, keys)
        access.audit_shown(sdk.session())
        sdk.session().commit()
        return shown


@blp.route("/leads/<uuid:lead_id>/status")
class LeadStatus(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(LeadStatusSchema)
    @blp.response(200, LeadSchema)
    def post(self, args: dict[str, Any], lead_id: uuid.UUID) -> dict[str, Any]:
        """Mark a lead new, contacted or lost (``channels.convert``)."""
        sdk.acting_user_with("channels.convert")
        access, keys = sdk.record_access("lead"), sdk.keyring()
        lead = leads.get_lead(sdk.session(), access, lead_id)
        leads.set_status(sdk.session(), access, lead, args["status"])
        sdk.session().commit()
        return present_lead(lead, access, keys)


@blp.route("/leads/<uuid:lead_id>/convert")
class Convert(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(ConvertSchema)
    @blp.response(201, ConversionSchema)
    @blp.alt_response(409, description="The lead was converted already")
    def post(self, args: dict[str, Any], lead_id: uuid.UUID) -> dict[str, Any]:
        """Convert the lead into a draft application owned by the acting staff member: the
        customer found by ``id_number`` or a new one; submit it with
        ``POST /applications/<id>/submit``."""
        sdk.acting_user_with("channels.convert")
        done = convert_lead(lead_id, args)
        sdk.session().commit()
        return {
            "lead_id": done.lead.id,
            "customer_id": done.customer_id,
            "application_id": done.application_id,
        }


def convert_lead(lead_id: uuid.UUID, values: dict[str, Any]) -> leads.Conversion:
    """Shared by the API and the lead's page."""
    access, keys = sdk.record_access("lead"), sdk.keyring()
    lead = leads.get_lead(sdk.session(), access, lead_id)
    return leads.convert(
        sdk.session(),
        keys,
        lead,
        values,
        lead_access=access,
        customer_access=sdk.record_access("customer"),
        application_access=sdk.record_access("application"),
        context=sdk.value_context(),
    )
