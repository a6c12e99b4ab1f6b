"""Consent records (授权记录): what a borrower agreed to under PIPL, when, through which
channel and to which version of the tenant's consent text. Staff record a consent when the
borrower signs (a web form, paper, the app) and record its withdrawal when the borrower takes
it back; a withdrawn consent stays on record and no longer counts. Other plugins ask
``valid_consent`` before they process data for a purpose (the credit plugin reads the same
table before it queries a bureau). Every change is audited."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    Conflict,
    NotFound,
    RecordAccess,
    ValidationFailed,
    acting_user,
    acting_user_with,
    audit_record,
    utcnow,
)
from loandesk_customers.models import CONSENT_CHANNELS, CONSENT_PURPOSES, Consent, Customer

PERMISSION = "customers.consent"
TEXT_HASH = re.compile(r"^[0-9a-f]{64}$")
CLOCK_SKEW = timedelta(minutes=5)  # an agreement "now" on a device whose clock runs ahead

PURPOSE_LABELS = {
    "credit_query": N_("Credit query authorisation"),
    "personal_info": N_("Personal information processing"),
    "marketing": N_("Marketing"),
}
CHANNEL_LABELS = {"web": N_("Web form"), "paper": N_("Paper"), "app": N_("App")}


def consents_of(session: Session, access: RecordAccess, customer: Customer) -> list[Consent]:
    """The customer's consent records, newest agreement first, withdrawn ones included."""
    access.check_record(customer)
    query = (
        select(Consent)
        .where(Consent.customer_id == customer.id)
        .order_by(Consent.agreed_at.desc(), Consent.id.desc())
    )
    return list(session.scalars(query))


def valid_consent(
    session: Session, customer_id: uuid.UUID, purpose: str, *, at: datetime | None = None
) -> Consent | None:
    """The customer's latest consent for ``purpose`` that counts at ``at`` (now): agreed to
    by then and not withdrawn. None when there is none."""
    at = at or utcnow()
    query = (
        select(Consent)
        .where(
            Consent.customer_id == customer_id,
            Consent.purpose == purpose,
            Consent.agreed_at <= at,
            Consent.withdrawn_at.is_(None),
        )
        .order_by(Consent.agreed_at.desc(), Consent.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def record_consent(
    session: Session, access: RecordAccess, customer: Customer, values: Mapping[str, Any]
) -> Consent:
    """Record that the customer agreed: ``purpose``, ``text_version``, ``agreed_at``,
    ``channel`` required; ``text_hash`` (SHA-256 hex of the text shown) and ``evidence_id``
    (an attachment: the signed form) optional. Invalid input records nothing."""
    access.check_record(customer)
    acting_user_with(PERMISSION)
    if customer.anonymised_at is not None:
        raise Conflict(N_("This customer's personal data was anonymised; it cannot change."))
    clean = _validated(values)
    consent = Consent(customer_id=customer.id, recorded_by_id=acting_user().id, **clean)
    session.add(consent)
    session.flush()
    audit_record(
        session,
        "customer.consent",
        "customer",
        customer.id,
        {
            "consent_id": str(consent.id),
            "purpose": consent.purpose,
            "text_version": consent.text_version,
            "text_hash": consent.text_hash,
            "channel": consent.channel,
            "agreed_at": consent.agreed_at.isoformat(),
            "evidence_id": str(consent.evidence_id) if consent.evidence_id else None,
        },
    )
    return consent


def withdraw_consent(
    session: Session, access: RecordAccess, customer: Customer, consent_id: uuid.UUID
) -> Consent:
    """Record that the customer withdrew the consent (now); it no longer counts from then."""
    access.check_record(customer)
    acting_user_with(PERMISSION)
    consent = session.scalar(
        select(Consent).where(Consent.id == consent_id, Consent.customer_id == customer.id)
    )
    if consent is None:
        raise NotFound(N_("No such record."))
    if consent.withdrawn_at is not None:
        raise Conflict(N_("This consent was withdrawn already."))
    consent.withdrawn_at = utcnow()
    consent.withdrawn_by_id = acting_user().id
    session.flush()
    audit_record(
        session,
        "customer.consent_withdraw",
        "customer",
        customer.id,
        {"consent_id": str(consent.id), "purpose": consent.purpose},
    )
    return consent


def _validated(values: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    purpose = values.get("purpose")
    if purpose not in CONSENT_PURPOSES:
        errors["purpose"] = [N_("Choose credit_query, personal_info or marketing.")]
    channel = values.get("channel")
    if channel not in CONSENT_CHANNELS:
        errors["channel"] = [N_("Choose web, paper or app.")]
    version = (values.get("text_version") or "").strip()
    if not version or len(version) > 40:
        errors["text_version"] = [N_("Enter the consent text's version (at most 40 characters).")]
    text_hash = (values.get("text_hash") or "").strip().lower() or None
    if text_hash is not None and not TEXT_HASH.match(text_hash):
        errors["text_hash"] = [N_("Enter the SHA-256 of the text as 64 hexadecimal digits.")]
    agreed_at = values.get("agreed_at")
    if not isinstance(agreed_at, datetime) or agreed_at.tzinfo is None:
        errors["agreed_at"] = [N_("Enter when the customer agreed, with a time zone.")]
    elif agreed_at > utcnow() + CLOCK_SKEW:
        errors["agreed_at"] = [N_("A consent cannot be agreed to in the future.")]
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    return {
        "purpose": purpose,
        "channel": channel,
        "text_version": version,
        "text_hash": text_hash,
        "agreed_at": agreed_at,
        "evidence_id": values.get("evidence_id"),
    }
