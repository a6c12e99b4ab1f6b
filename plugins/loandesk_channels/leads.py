"""Leads (线索): captured from the public form or the API with their attribution and consent,
read under the acting user's ``RecordAccess`` (an agent's scope is "own"), and converted into an
application through the plugins that keep customers and applications
(``sdk.customer_registry``, ``sdk.application_intake``), under the converting user's access to
customers and applications. No Flask here."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    Conflict,
    Keyring,
    RecordAccess,
    ValidationFailed,
    ValueContext,
    application_intake,
    audit_record,
    customer_registry,
    emit,
    unit_of,
    utcnow,
)
from loandesk_channels.models import (
    UTM_KEYS,
    Agent,
    Channel,
    Lead,
    LeadApplication,
)
from loandesk_channels.service import REQUIRED, _amount, _refuse, _text, _top_code

# Staff move a lead on by hand; "converted" is set only by a conversion.
MANUAL_STATUSES = ("new", "contacted", "lost")
# The version of the consent text the public form shows (kept with each lead with its hash).
CONSENT_VERSION = "lead-2026-11"


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
    context: ValueContext,
) -> Conversion:
    """Turn ``lead`` into a draft application owned by the converting user: the customer
    with ``values["id_number"]`` the user may see, or a new one made of the lead's name and
    mobile (``sdk.customer_registry()``); then the application (``amount`` — the lead's
    unless given — and ``term_months``) through ``sdk.application_intake()``, checked by the
    tenant's application form. The link lead → application is kept here."""
    customers, intake = customer_registry(), application_intake()
    lead_access.check_record(lead)
    if lead.status == "converted" or application_of(session, lead.id) is not None:
        raise Conflict(N_("This lead was converted into an application already."))
    user_id = lead_access.user_id
    id_number = str(values.get("id_number") or "").strip()
    customer_id = customers.find_by_id_number(session, customer_access, keys, id_number)
    if customer_id is None:
        given = {
            "name": lead.name,
            "mobile": lead.get_personal("mobile", keys=keys),
            "id_number": id_number or None,
        }
        customer_id = customers.create(session, customer_access, keys, given, owner_id=user_id)
    amount = values.get("amount") or (str(lead.amount) if lead.amount is not None else None)
    application_id = intake.create_draft(
        session,
        application_access,
        keys,
        {
            "customer_id": str(customer_id),
            "amount": amount,
            "term_months": values.get("term_months"),
        },
        owner_id=user_id,
        context=context,
    )
    session.add(
        LeadApplication(
            lead_id=lead.id,
            application_id=application_id,
            customer_id=customer_id,
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
        {"status": [before, "converted"], "application_id": application_id},
    )
    emit(
        session,
        "lead.converted",
        "lead",
        lead.id,
        {"application_id": str(application_id), "customer_id": str(customer_id)},
    )
    return Conversion(lead, customer_id, application_id)
