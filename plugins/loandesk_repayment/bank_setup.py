"""What statement matching is set up with: a firm's saved column mappings (one per bank
export it receives that no preset reads) and each loan's repayment card (还款卡). Both
audited. No Flask."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_
from loandesk_repayment import bank_formats
from loandesk_repayment.bank_formats import refuse
from loandesk_repayment.bank_models import BankMapping, RepaymentCard
from loandesk_repayment.models import Loan


def mappings(session: Session) -> list[BankMapping]:
    return list(session.scalars(select(BankMapping).order_by(BankMapping.name)))


def save_mapping(
    session: Session,
    name: str,
    columns: Mapping[str, Any],
    *,
    account: str | None = None,
    user_id: uuid.UUID | None = None,
) -> BankMapping:
    """Save (or replace) the mapping ``name``: each role's header(s); ``date`` and ``credit``
    or a signed ``amount`` are required (422 naming ``columns.<role>``)."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 60:
        raise refuse("name", N_("Enter a name of up to 60 characters."))
    layout = bank_formats.layout_of(columns, label=name)
    clean = {role: cols for role, cols in layout.columns().items() if cols}
    found = session.scalar(select(BankMapping).where(BankMapping.name == name))
    if found is None:
        found = BankMapping(name=name, columns=clean, created_by_id=user_id)
        session.add(found)
    else:
        found.columns = clean
    found.account = "".join((account or "").split()) or None
    session.flush()
    sdk.audit_record(
        session, "bank_mapping.save", "bank_mapping", found.id, {"name": name, "columns": clean}
    )
    return found


def card_of(session: Session, loan: Loan) -> RepaymentCard | None:
    return session.scalar(select(RepaymentCard).where(RepaymentCard.loan_id == loan.id))


def set_card(
    session: Session,
    loan: Loan,
    card_number: str | None,
    *,
    bank_name: str | None = None,
    user_id: uuid.UUID | None = None,
) -> RepaymentCard | None:
    """Set the loan's repayment card (a valid card number: 422 on ``card_number``), or
    clear it with an empty number. Audited with the masked number only."""
    card = card_of(session, loan)
    keys = sdk.keyring()
    before = card.get_masked("card_number", keys=keys) if card is not None else None
    if not (card_number or "").strip():
        if card is not None:
            session.delete(card)
            session.flush()
            sdk.audit_record(
                session, "loan.repayment_card", "loan", loan.id, {"card_number": [before, None]}
            )
        return None
    if card is None:
        card = RepaymentCard(loan_id=loan.id)
        session.add(card)
    card.set_personal("card_number", card_number, keys=keys)
    card.bank_name = (bank_name or "").strip()[:60] or None
    card.updated_by_id, card.updated_at = user_id, sdk.utcnow()
    session.flush()
    after = card.get_masked("card_number", keys=keys)
    sdk.audit_record(
        session, "loan.repayment_card", "loan", loan.id, {"card_number": [before, after]}
    )
    return card


def present_card(card: RepaymentCard | None) -> dict[str, Any] | None:
    if card is None:
        return None
    return {
        "card_number": card.get_masked("card_number", keys=sdk.keyring()),
        "bank_name": card.bank_name,
        "updated_at": card.updated_at,
    }
