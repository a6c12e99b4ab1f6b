"""Signing a contract (电子签章): send it through the tenant's e-signature provider (a
connector plugin, else the built-in click-to-sign) with the borrower's link by SMS, take the
provider's outcome, keep the signed PDF with its hash; expire contracts not signed in time and
remind borrowers before that. Each change is audited and emitted in the caller's transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_, Conflict, NotFound, ValidationFailed, message
from loandesk_contracts import links, service, settings
from loandesk_contracts.models import Contract
from loandesk_contracts.service import _event


def provider(key: str | None = None) -> sdk.SignatureProvider:
    """The provider ``key``, or the one the tenant signs with (the first answered)."""
    found = sdk.signature_providers()
    for candidate in found:
        if key is None or candidate.key == key:
            return candidate
    raise NotFound(N_("No e-signature provider is available."))


def _sms(
    session: Session, contract: Contract, text: str, key: str, *, urgent: bool = False
) -> None:
    person = service.borrower(session, contract.customer_id)
    if not person.mobile:
        raise ValidationFailed(
            N_("The contract cannot be sent."),
            errors={"mobile": [message(N_("The borrower has no mobile number."))]},
        )
    sdk.notify_borrower(
        session, person.mobile, text, key=key, record=("contract", str(contract.id)), urgent=urgent
    )


def send(session: Session, contract: Contract, *, user_id: Any, today: dt.date) -> Contract:
    """Ask the provider for a signature and text the borrower their link; ``Conflict``
    unless the contract is a draft."""
    if contract.status != "draft":
        raise Conflict(N_("Only a draft contract can be sent."))
    chosen = provider()
    person = service.borrower(session, contract.customer_id)
    if not person.mobile:
        raise ValidationFailed(
            N_("The contract cannot be sent."),
            errors={"mobile": [message(N_("The borrower has no mobile number."))]},
        )
    config = settings.current()
    expires_on = today + dt.timedelta(days=int(config["expiry_days"]))
    contract.link_nonce = secrets.token_hex(16)
    answer = chosen.request_signature(
        session,
        document=sdk.attachment_bytes(contract.pdf_id),
        filename=f"{contract.number}.pdf",
        signer=sdk.Signer(person.name, person.mobile, person.id_number),
        subject_id=str(contract.id),
        expires_at=dt.datetime.combine(expires_on, dt.time(23, 59), tzinfo=dt.UTC),
        callback_url=links.callback_url(chosen.key),
    )
    contract.status, contract.provider = "sent", chosen.key
    contract.provider_reference, contract.signing_url = answer.reference, answer.signing_url
    contract.sent_at, contract.expires_on = sdk.utcnow(), expires_on
    session.flush()
    page = links.borrower_url(contract, days=int(config["link_days"]))
    firm = sdk.current().name
    _sms(
        session,
        contract,
        f"【{firm}】您的借款合同{contract.number}已生成，请于{expires_on.month}月{expires_on.day}日前"
        f"打开链接阅读并签署：{page}",
        key=f"contracts.sent.{contract.id}.{contract.link_nonce}",
    )
    sdk.audit_record(
        session, "contract.sent", "contract", contract.id,
        {"status": ["draft", "sent"], "provider": chosen.key,
         "provider_reference": answer.reference, "expires_on": expires_on.isoformat()},
    )  # fmt: skip
    sdk.emit(session, "contract.sent", "contract", contract.id, _event(contract))
    return contract


def complete(
    session: Session, contract: Contract, signed_pdf: bytes, *, detail: Mapping[str, Any]
) -> Contract:
    """The borrower signed: keep the signed PDF with its hash; the contract is signed."""
    if contract.status != "sent":
        raise Conflict(N_("Only a contract waiting for its signature can be signed."))
    kept = sdk.keep_attachment(
        session,
        filename=f"{contract.number}-signed.pdf",
        data=signed_pdf,
        uploaded_by=None,
        record_type="contract",
        field_key="contracts-signed-pdf",
    )
    contract.status, contract.signed_at = "signed", sdk.utcnow()
    contract.signed_pdf_id = kept.id
    contract.signed_pdf_sha256 = hashlib.sha256(signed_pdf).hexdigest()
    session.flush()
    sdk.audit_record(
        session, "contract.signed", "contract", contract.id,
        {"status": ["sent", "signed"], "provider": contract.provider,
         "signed_pdf_sha256": contract.signed_pdf_sha256,
         "original_sha256": contract.pdf_sha256, **dict(detail)},
    )  # fmt: skip
    sdk.emit(session, "contract.signed", "contract", contract.id, _event(contract))
    return contract


def handle_callback(
    session: Session, provider_key: str, headers: Mapping[str, str], body: bytes
) -> Contract:
    """A provider's callback: verified by the provider (``CallbackRefused``), then the
    contract it names is signed (its signed PDF fetched) or left to expire."""
    chosen = provider(provider_key)
    outcome = chosen.handle_callback(session, headers=headers, body=body)
    contract = session.scalar(
        select(Contract).where(
            Contract.provider == chosen.key, Contract.provider_reference == outcome.reference
        )
    )
    if contract is None:
        raise NotFound(N_("No such contract."))
    if outcome.state == "pending":  # a step on the way (the provider reports each)
        return contract
    if outcome.state != "signed":
        sdk.audit_record(
            session, "contract.signing_failed", "contract", contract.id,
            {"provider": chosen.key, "state": outcome.state, "detail": outcome.detail[:200]},
        )  # fmt: skip
        return contract
    if contract.status == "signed":  # the provider repeated its call
        return contract
    return complete(
        session,
        contract,
        chosen.fetch_signed(session, outcome.reference),
        detail={"provider_detail": outcome.detail[:200]},
    )


def expire_due(session: Session, today: dt.date) -> list[uuid.UUID]:
    """Sent contracts whose last day to sign is before ``today`` expire."""
    due = session.scalars(
        select(Contract).where(Contract.status == "sent", Contract.expires_on < today)
    )
    expired = []
    for contract in due:
        contract.status, contract.expired_at, contract.link_nonce = "expired", sdk.utcnow(), ""
        sdk.audit_record(
            session, "contract.expired", "contract", contract.id,
            {"status": ["sent", "expired"], "expires_on": str(contract.expires_on)},
        )  # fmt: skip
        sdk.emit(session, "contract.expired", "contract", contract.id, _event(contract))
        expired.append(contract.id)
    session.flush()
    return expired


def remind_due(session: Session, today: dt.date) -> list[uuid.UUID]:
    """Text borrowers whose contract expires within the reminder days, once per contract."""
    days = int(settings.current()["reminder_days"])
    if days <= 0:
        return []
    due = session.scalars(
        select(Contract).where(
            Contract.status == "sent",
            Contract.reminded_on.is_(None),
            Contract.expires_on <= today + dt.timedelta(days=days),
            Contract.expires_on >= today,
        )
    )
    reminded = []
    link_days = int(settings.current()["link_days"])
    for contract in due:
        assert contract.expires_on is not None
        page = links.borrower_url(contract, days=link_days)
        _sms(
            session,
            contract,
            f"【{sdk.current().name}】提醒：您的借款合同{contract.number}将于"
            f"{contract.expires_on.month}月{contract.expires_on.day}日失效，请尽快签署：{page}",
            key=f"contracts.reminder.{contract.id}",
        )
        contract.reminded_on = today
        sdk.audit_record(
            session, "contract.reminded", "contract", contract.id,
            {"expires_on": str(contract.expires_on)},
        )  # fmt: skip
        reminded.append(contract.id)
    session.flush()
    return reminded
