"""Channels, agents, leads and costs. Leads are read under the acting user's
``RecordAccess`` (an agent's scope is "own"); a lead becomes an application through the
customers' and intake plugins' own service functions, under the converting user's access to
customers and applications. No Flask here: the API, the pages and tests call the same
functions."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    Conflict,
    Form,
    Keyring,
    NotFound,
    RecordAccess,
    ValidationFailed,
    ValueContext,
    audit_changes,
    audit_record,
    emit,
    unit_of,
    utcnow,
)
from loandesk_channels.models import (
    KINDS,
    UTM_KEYS,
    Agent,
    Channel,
    Cost,
    Lead,
    LeadApplication,
)

# Staff move a lead on by hand; "converted" is set only by a conversion.
MANUAL_STATUSES = ("new", "contacted", "lost")
# The version of the consent text the public form shows (kept with each lead with its hash).
CONSENT_VERSION = "lead-2026-11"
REQUIRED = N_("This field is required.")


def _refuse(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)


def _text(values: Mapping[str, Any], key: str, limit: int) -> str | None:
    value = values.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] or None


# --- channels ---------------------------------------------------------------------------------


def list_channels(session: Session, *, active_only: bool = False) -> list[Channel]:
    query = select(Channel).order_by(Channel.code)
    if active_only:
        query = query.where(Channel.active.is_(True))
    return list(session.scalars(query))


def get_channel(session: Session, channel_id: uuid.UUID) -> Channel:
    found = session.scalar(select(Channel).where(Channel.id == channel_id))
    if found is None:
        raise NotFound(N_("No such channel."))
    return found


def _channel_values(session: Session, values: Mapping[str, Any], channel: Channel | None) -> None:
    errors: dict[str, list[str]] = {}
    code = _text(values, "code", 41) if "code" in values or channel is None else channel.code
    name = _text(values, "name", 101) if "name" in values or channel is None else channel.name
    kind = values.get("kind", channel.kind if channel else None)
    if not code:
        errors["code"] = [REQUIRED]
    elif len(code) > 40 or not code.replace("-", "").replace("_", "").isalnum():
        errors["code"] = [N_("Use up to 40 letters, digits, - or _.")]
    elif session.scalar(select(Channel.id).where(Channel.code == code, Channel.id != _id(channel))):
        errors["code"] = [N_("Another channel has this code.")]
    if not name:
        errors["name"] = [REQUIRED]
    elif len(name) > 100:
        errors["name"] = [N_("Use at most 100 characters.")]
    if kind not in KINDS:
        errors["kind"] = [N_("Choose a kind from the list.")]
    parent_id = values.get("parent_id", channel.parent_id if channel else None)
    if parent_id:
        parent = session.scalar(select(Channel).where(Channel.id == parent_id))
        if parent is None or parent.parent_id is not None or _id(channel) == parent.id:
            errors["parent_id"] = [N_("Choose a top-level channel as the parent.")]
    _refuse(errors)


def _id(row: Any) -> uuid.UUID:
    return row.id if row is not None and row.id else uuid.UUID(int=0)


def create_channel(session: Session, values: Mapping[str, Any]) -> Channel:
    """A channel, or a sub-channel of a top-level one (``parent_id``)."""
    _channel_values(session, values, None)
    channel = Channel(
        code=str(values["code"]).strip(),
        name=str(values["name"]).strip(),
        kind=values["kind"],
        parent_id=values.get("parent_id") or None,
        active=bool(values.get("active", True)),
    )
    session.add(channel)
    session.flush()
    audit_record(session, "channel.create", "channel", channel.id, _audited(channel))
    return channel


def update_channel(session: Session, channel: Channel, values: Mapping[str, Any]) -> Channel:
    _channel_values(session, values, channel)
    before = _audited(channel)
    for key in ("code", "name"):
        if key in values:
            setattr(channel, key, str(values[key]).strip())
    for key in ("kind", "parent_id", "active"):
        if key in values:
            setattr(channel, key, values[key] or (None if key == "parent_id" else values[key]))
    session.flush()
    if diff := audit_changes(before, _audited(channel)):
        audit_record(session, "channel.update", "channel", channel.id, diff)
        if {"code", "parent_id"} & diff.keys():
            _restamp(session, channel)
    return channel


def _top_code(session: Session, channel_id: uuid.UUID | None) -> str | None:
    """The code of ``channel_id``'s top-level channel (its own or its parent's)."""
    if channel_id is None:
        return None
    channel = session.scalar(select(Channel).where(Channel.id == channel_id))
    if channel is None:
        return None
    if channel.parent_id is None:
        return channel.code
    return session.scalar(select(Channel.code).where(Channel.id == channel.parent_id))


def _restamp(session: Session, channel: Channel) -> None:
    """The leads of ``channel`` and of its sub-channels take its new top-level code."""
    ids = [channel.id, *session.scalars(select(Channel.id).where(Channel.parent_id == channel.id))]
    for channel_id in ids:
        session.execute(
            update(Lead)
            .where(Lead.channel_id == channel_id)
            .values(channel_code=_top_code(session, channel_id))
        )


def _audited(channel: Channel) -> dict[str, Any]:
    return {
        "code": channel.code,
        "name": channel.name,
        "kind": channel.kind,
        "parent_id": channel.parent_id,
        "active": channel.active,
    }


# --- agents -----------------------------------------------------------------------------------


def list_agents(session: Session) -> list[Agent]:
    return list(session.scalars(select(Agent).order_by(Agent.created_at)))


def create_agent(session: Session, *, user_id: uuid.UUID, channel_id: uuid.UUID) -> Agent:
    """Make the staff account ``user_id`` an agent of ``channel_id`` with a new referral code
    (the account's role, ``channel_agent``, is given on the staff page like any role)."""
    errors: dict[str, list[str]] = {}
    try:
        unit_of(session, user_id, "user_id")
    except ValidationFailed as refused:
        errors.update(refused.errors or {})
    if session.scalar(select(Channel.id).where(Channel.id == channel_id)) is None:
        errors["channel_id"] = [N_("Choose a channel from the list.")]
    if session.scalar(select(Agent.id).where(Agent.user_id == user_id)):
        errors["user_id"] = [N_("This staff member is already an agent.")]
    _refuse(errors)
    agent = Agent(user_id=user_id, channel_id=channel_id, referral_code=_new_code(session))
    session.add(agent)
    session.flush()
    audit_record(
        session,
        "channel.agent",
        "channel",
        channel_id,
        {"user_id": user_id, "referral_code": agent.referral_code},
    )
    return agent


def agent_of(session: Session, user_id: uuid.UUID) -> Agent | None:
    return session.scalar(select(Agent).where(Agent.user_id == user_id))


def _new_code(session: Session) -> str:
    while True:
        code = secrets.token_hex(4).upper()
        if session.scalar(select(Agent.id).where(Agent.referral_code == code)) is None:
            return code


def agent_link(form_url: str, agent: Agent, utm: Mapping[str, str] | None = None) -> str:
    """The agent's personal link: the public lead form with their referral code and UTM
    parameters (``utm_source=agent`` and ``utm_medium=referral`` unless given)."""
    params = {"ref": agent.referral_code, "utm_source": "agent", "utm_medium": "referral"}
    params.update({k: v for k, v in (utm or {}).items() if k in UTM_KEYS and v})
    return f"{form_url}?{urlencode(params)}"


# --- leads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attribution:
    """Where a lead came from, as its link's query string and the request tell."""

    ref: str | None = None  # an agent's referral code
    channel: str | None = None  # a channel's code
    utm: Mapping[str, str] | None = None
    referrer: str | None = None
    landed_at: datetime | None = None

    @classmethod
    def from_query(cls, args: Mapping[str, Any], referrer: str | None = None) -> Attribution:
        landed = args.get("landed_at")
        try:
            landed_at = datetime.fromisoformat(landed) if landed else None
        except (TypeError, ValueError):
            landed_at = None
        if landed_at is not None and landed_at.tzinfo is None:
            landed_at = None  # not the form's own value
        return cls(
            ref=_text(args, "ref", 20),
            channel=_text(args, "channel", 40),
            utm={k: v for k in UTM_KEYS if (v := _text(args, k, 100))},
            referrer=(referrer or "")[:500] or None,
            landed_at=landed_at,
        )


def consent_text() -> str:
    """What the form asks the prospect to agree to (its SHA-256 is kept with the lead)."""
    return N_(
        "I agree that the lender may store my name and mobile number and contact me about "
        "my loan enquiry."
    )


def capture_lead(
    session: Session,
    keys: Keyring,
    values: Mapping[str, Any],
    attribution: Attribution,
    *,
    consent_shown: str,
) -> Lead:
    """A new lead from the public form or a partner: the prospect's answers, the consent they
    gave to ``consent_shown`` (the text as displayed), and its attribution. An agent's
    referral code makes the agent its owner (their scope then reaches it) and their channel
    its channel; an unknown code or channel is ignored, never refused."""
    errors: dict[str, list[str]] = {}
    name = _text(values, "name", 51)
    if not name:
        errors["name"] = [REQUIRED]
    elif len(name) > 50:
        errors["name"] = [N_("Use at most 50 characters.")]
    if not values.get("consent"):
        errors["consent"] = [N_("Agree to be contacted to send your enquiry.")]
    amount = _amount(values.get("amount"), errors)
    lead = Lead(
        name=name or "",
        product=_text(values, "product", 60),
        amount=amount,
        city=_text(values, "city", 40),
        status="new",
    )
    mobile = str(values.get("mobile") or "").strip()
    if not mobile:
        errors["mobile"] = [REQUIRED]
    else:
        try:
            lead.set_personal("mobile", mobile, keys=keys)
        except ValidationFailed as refused:
            errors.update(refused.errors or {"mobile": [N_("Enter a mobile number.")]})
    _refuse(errors)
    agent = None
    if attribution.ref:
        agent = session.scalar(
            select(Agent).where(Agent.referral_code == attribution.ref, Agent.active.is_(True))
        )
    channel_id = agent.channel_id if agent else None
    if channel_id is None and attribution.channel:
        channel_id = session.scalar(
            select(Channel.id).where(Channel.code == attribution.channel, Channel.active.is_(True))
        )
    lead.channel_id = channel_id
    lead.channel_code = _top_code(session, channel_id)
    if agent is not None:
        lead.agent_id, lead.owner_id = agent.id, agent.user_id
        lead.org_unit_id = unit_of(session, agent.user_id)
    for key, value in (attribution.utm or {}).items():
        setattr(lead, key, value)
    lead.referrer = attribution.referrer
    lead.landed_at = attribution.landed_at or utcnow()
    lead.consent_version = CONSENT_VERSION
    lead.consent_hash = hashlib.sha256(consent_shown.encode()).hexdigest()
    lead.consent_at = utcnow()
    session.add(lead)
    session.flush()
    audit_record(
        session,
        "lead.create",
        "lead",
        lead.id,
        {"channel_id": channel_id, "agent_id": lead.agent_id, "mobile": "***"},
    )
    emit(session, "lead.created", "lead", lead.id, {"channel_id": str(channel_id or "")})
    return lead


def _amount(raw: Any, errors: dict[str, list[str]]) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        amount = Decimal(str(raw).replace(",", "").strip())
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount <= 0 or amount > Decimal("100000000"):
        errors["amount"] = [N_("Enter an amount in yuan, such as 50000.")]
        return None
    return amount.quantize(Decimal("0.01"))


def lead_query(access: RecordAccess, *, status: str | None = None) -> Any:
    access.require_read()
    query = access.where(select(Lead)).order_by(Lead.created_at.desc(), Lead.id)
    if status:
        query = query.where(Lead.status == status)
    return query


def get_lead(session: Session, access: RecordAccess, lead_id: uuid.UUID) -> Lead:
    """The lead, if the user's scope reaches it (``NotFound`` otherwise)."""
    found = session.scalar(select(Lead).where(Lead.id == lead_id))
    result: Lead = access.check_record(found)
    return result


def set_status(session: Session, access: RecordAccess, lead: Lead, status: str) -> Lead:
    """Move a lead to new, contacted or lost (a converted lead stays converted)."""
    access.check_record(lead)
    if status not in MANUAL_STATUSES:
        _refuse({"status": [N_("Choose new, contacted or lost.")]})
    if lead.status == "converted":
        raise Conflict(N_("This lead was converted into an application already."))
    if lead.status != status:
        before, lead.status = lead.status, status
        session.flush()
        audit_record(session, "lead.status", "lead", lead.id, {"status": [before, status]})
    return lead


def application_of(session: Session, lead_id: uuid.UUID) -> LeadApplication | None:
    return session.scalar(select(LeadApplication).where(LeadApplication.lead_id == lead_id))


@dataclass(frozen=True)
class Conversion:
    lead: Lead
    customer_id: uuid.UUID
    application_id: uuid.UUID


def convert(
    session: Session,
    keys: Keyring,
    lead: Lead,
    values: Mapping[str, Any],
    *,
    lead_access: RecordAccess,
    customer_access: RecordAccess,
    application_access: RecordAccess,
    application_form: Form,
    context: ValueContext,
) -> Conversion:
    """Turn ``lead`` into a draft application owned by the converting user: the customer
    with ``values["id_number"]`` the user may see, or a new one made of the lead's name and
    mobile; then the application (``amount`` — the lead's unless given — and
    ``term_months``) through the intake plugin's own ``create_application``, checked by the
    tenant's application form. The link lead → application is kept here."""
    from loandesk_customers import service as customers
    from loandesk_intake import service as intake

    lead_access.check_record(lead)
    if lead.status == "converted" or application_of(session, lead.id) is not None:
        raise Conflict(N_("This lead was converted into an application already."))
    user_id = lead_access.user_id
    id_number = str(values.get("id_number") or "").strip()
    customer = None
    if id_number and customer_access.can_read:
        query = customers.customer_query(customer_access, keys, q=id_number)
        customer = session.scalars(query).first()
    if customer is None:
        given = {
            "name": lead.name,
            "mobile": lead.get_personal("mobile", keys=keys),
            "id_number": id_number or None,
        }
        customer = customers.create_customer(
            session, customer_access, keys, given, owner_id=user_id
        )
    amount = values.get("amount") or (str(lead.amount) if lead.amount is not None else None)
    application = intake.create_application(
        session,
        application_access,
        keys,
        application_form,
        {
            "customer_id": str(customer.id),
            "amount": amount,
            "term_months": values.get("term_months"),
        },
        owner_id=user_id,
        context=context,
    )
    session.add(
        LeadApplication(
            lead_id=lead.id,
            application_id=application.id,
            customer_id=customer.id,
            converted_by_id=user_id,
        )
    )
    before, lead.status = lead.status, "converted"
    session.flush()
    audit_record(
        session,
        "lead.convert",
        "lead",
        lead.id,
        {"status": [before, "converted"], "application_id": application.id},
    )
    emit(
        session,
        "lead.converted",
        "lead",
        lead.id,
        {"application_id": str(application.id), "customer_id": str(customer.id)},
    )
    return Conversion(lead, customer.id, application.id)


# --- costs ------------------------------------------------------------------------------------


def add_cost(
    session: Session, values: Mapping[str, Any], *, created_by_id: uuid.UUID | None
) -> Cost:
    """What a channel cost on ``spent_on`` (a day, or the 1st for a whole month)."""
    errors: dict[str, list[str]] = {}
    channel_id = values.get("channel_id")
    if not channel_id or session.scalar(select(Channel.id).where(Channel.id == channel_id)) is None:
        errors["channel_id"] = [N_("Choose a channel from the list.")]
    spent_on = values.get("spent_on")
    if isinstance(spent_on, str):
        try:
            spent_on = date.fromisoformat(spent_on)
        except ValueError:
            spent_on = None
    if not isinstance(spent_on, date):
        errors["spent_on"] = [N_("Enter a date such as 2026-11-01.")]
    amount = _amount(values.get("amount"), errors)
    if amount is None and "amount" not in errors:
        errors["amount"] = [REQUIRED]
    note = _text(values, "note", 500) or ""
    _refuse(errors)
    cost = Cost(
        channel_id=channel_id, spent_on=spent_on, amount=amount, note=note,
        created_by_id=created_by_id,
    )  # fmt: skip
    session.add(cost)
    session.flush()
    audit_record(
        session,
        "channel.cost",
        "channel",
        cost.channel_id,
        {"spent_on": spent_on, "amount": amount, "note": note},
    )
    return cost


def list_costs(session: Session, *, channel_id: uuid.UUID | None = None) -> list[Cost]:
    query = select(Cost).order_by(Cost.spent_on.desc(), Cost.created_at.desc())
    if channel_id:
        query = query.where(Cost.channel_id == channel_id)
    return list(session.scalars(query))
