"""Matching a statement line (money in) to the loan it repays (对账), by three rules tried in
this order; the first that names exactly one loan decides, and a rule that names several
loans sends the line to the queue as ambiguous — never a guess:

1. **reference**: a loan number (``DK`` + 13 digits, as loans are numbered) in the memo
   (摘要 / 附言 / 用途). Several different numbers: ambiguous. A number of a loan that is not
   active: unmatched (``loan_not_active``). A number that is not one of ours: the next rule.
2. **card**: the payer's account equal to a loan's repayment card (``RepaymentCard``) or to
   the borrower's own card on the customer record (``bank_card``), compared by the tenant's
   keyed hash. Several active loans behind it: the one whose amount due equals the line's
   amount, else ambiguous.
3. **amount**: the payer's name equal to a borrower's name, and the line's amount equal to
   the amount due of exactly one of that borrower's (or those borrowers') active loans.
   The amount due on the line's date is what the installments due by then still owe, or —
   when nothing is owed yet (paid a few days early) — the next installment.

No Flask; reads only. Who posts is ``bank_import``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_repayment import loans
from loandesk_repayment.bank_models import BankLine, RepaymentCard
from loandesk_repayment.models import PARTS, Loan

LOAN_NUMBER = re.compile(r"DK\d{13}", re.IGNORECASE)
ZERO = Decimal("0.00")
_CARD_HASH: Any = RepaymentCard.card_number_hash  # type: ignore[attr-defined]  # PersonalData adds it

# why a line is in the queue
REASONS = {
    "no_match": sdk.N_("No loan matches the memo, the payer's account or name and amount."),
    "ambiguous": sdk.N_("Several loans match; choose one."),
    "loan_not_active": sdk.N_("The loan named in the memo is not active."),
    "refused": sdk.N_("The payment was refused."),
}


@dataclass(frozen=True)
class Match:
    """The loan a line repays and the rule that found it; or, ``loan`` None, why not."""

    loan: Loan | None
    rule: str | None = None
    reason: str | None = None
    detail: str = ""


def normalised_name(name: str | None) -> str:
    return re.sub(r"\s+", "", (name or "").replace("\u3000", ""))


def match_line(session: Session, line: BankLine, account: str) -> Match:
    """The loan ``line`` repays, by the rules above; ``account`` is the payer's account as
    read (the line keeps it encrypted)."""
    found = _by_reference(session, line)
    if found is not None:
        return found
    found = _by_card(session, line, account)
    if found is not None:
        return found
    found = _by_amount(session, line)
    if found is not None:
        return found
    return Match(None, reason="no_match")


def _by_reference(session: Session, line: BankLine) -> Match | None:
    numbers = sorted({n.upper() for n in LOAN_NUMBER.findall(line.memo or "")})
    if not numbers:
        return None
    named = list(session.scalars(select(Loan).where(Loan.number.in_(numbers))))
    if len(named) > 1:
        return Match(None, reason="ambiguous", detail=", ".join(n.number for n in named))
    if not named:
        return None  # not one of ours: the payer's account or name may still tell
    loan = named[0]
    if loan.status != "active":
        return Match(None, reason="loan_not_active", detail=loan.number)
    return Match(loan, rule="reference")


def _by_card(session: Session, line: BankLine, account: str) -> Match | None:
    digest = sdk.keyring().search_hash("bank_card", account) if account else None
    if digest is None:
        return None
    loan_ids = set(session.scalars(select(RepaymentCard.loan_id).where(digest == _CARD_HASH)))
    customers: list[uuid.UUID] = []
    try:
        model: Any = sdk.record_type("customer").model
        customers = list(session.scalars(select(model.id).where(model.bank_card_hash == digest)))
    except (sdk.NotFound, AttributeError):
        pass  # no customers plugin, or its record keeps no card
    query = select(Loan).where(Loan.status == "active")
    if customers:
        query = query.where(Loan.id.in_(loan_ids) | Loan.customer_id.in_(customers))
    elif loan_ids:
        query = query.where(Loan.id.in_(loan_ids))
    else:
        return None
    candidates = list(session.scalars(query.order_by(Loan.number)))
    return _one_of(session, line, candidates, "card")


def _by_amount(session: Session, line: BankLine) -> Match | None:
    name = normalised_name(line.counterparty_name)
    if not name:
        return None
    try:
        model: Any = sdk.record_type("customer").model
    except sdk.NotFound:
        return None
    customers = list(session.scalars(select(model.id).where(model.name == name)))
    if not customers:
        return None
    candidates = list(
        session.scalars(
            select(Loan)
            .where(Loan.customer_id.in_(customers), Loan.status == "active")
            .order_by(Loan.number)
        )
    )
    equal = [loan for loan in candidates if amount_due(session, loan, line) == line.amount]
    if len(equal) == 1:
        return Match(equal[0], rule="amount")
    if len(equal) > 1:
        return Match(None, reason="ambiguous", detail=", ".join(n.number for n in equal))
    return None


def _one_of(session: Session, line: BankLine, candidates: list[Loan], rule: str) -> Match | None:
    if not candidates:
        return None
    if len(candidates) == 1:
        return Match(candidates[0], rule=rule)
    equal = [loan for loan in candidates if amount_due(session, loan, line) == line.amount]
    if len(equal) == 1:
        return Match(equal[0], rule=rule)
    return Match(None, reason="ambiguous", detail=", ".join(n.number for n in candidates))


def amount_due(session: Session, loan: Loan, line: BankLine) -> Decimal:
    """What the loan owes on the line's date (installments due by then), or — nothing owed
    yet — its next installment."""
    installments = loans.installments_of(session, loan, fresh=True)
    owed = sum(
        (
            _owed(i.outstanding(p) for p in PARTS)
            for i in installments
            if i.due_date <= line.booked_on
        ),
        ZERO,
    )
    if owed:
        return owed
    upcoming = [i for i in installments if i.due_date > line.booked_on]
    return _owed(upcoming[0].outstanding(p) for p in PARTS) if upcoming else ZERO


def _owed(parts: Iterable[Decimal]) -> Decimal:
    return sum(parts, ZERO)
