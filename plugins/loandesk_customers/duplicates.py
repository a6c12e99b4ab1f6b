"""Duplicate customers (重复客户) and merging them (合并).

A tenant keeps one customer per resident ID number: creating or changing a customer to a number
another live record holds is refused (found by the number's keyed hash, whatever the user's
data scope, since the rule is the tenant's). Records made before the rule, or that share a
mobile and a name without an ID number, are found by ``find_duplicates``; a user with
``customers.merge`` merges two of them: the survivor keeps its own values, gains the other's
contacts, cards, consents and ID photos (where it has none), and the plugins that reference
customers move their rows (``loandesk_customer_merged``: intake's applications). The other
record is then marked merged and points to the survivor. All of it in the caller's one
transaction, audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    Conflict,
    RecordAccess,
    ValidationFailed,
    acting_user,
    acting_user_with,
    audit_record,
    customer_merged,
    emit,
    utcnow,
)
from loandesk_customers.models import BankCard, Consent, Contact, Customer

PERMISSION = "customers.merge"
DUPLICATE_ID = N_("A customer with this resident ID number exists already.")


def refuse_duplicate_id(
    session: Session, customer: Customer, *, pending: tuple[Customer, ...] = ()
) -> None:
    """``ValidationFailed`` naming ``id_number`` when another live customer of the tenant (or one of
    ``pending``, not yet written) has the same resident ID number."""
    digest = customer.id_number_hash
    if digest is None:
        return
    query = select(Customer.id).where(
        Customer.id_number_hash == digest, Customer.merged_into_id.is_(None)
    )
    if customer.id is not None:
        query = query.where(Customer.id != customer.id)
    taken = session.scalar(query.limit(1)) is not None
    if taken or any(other.id_number_hash == digest for other in pending if other is not customer):
        raise ValidationFailed(
            N_("Some fields need attention."), errors={"id_number": [DUPLICATE_ID]}
        )


@dataclass
class DuplicateGroup:
    """Live customers that look like one borrower: ``reason`` is ``id_number`` (the same
    resident ID number) or ``mobile_name`` (the same mobile and name)."""

    reason: str
    customers: list[Customer] = field(default_factory=list)


def find_duplicates(
    session: Session, access: RecordAccess, *, limit: int = 100
) -> list[DuplicateGroup]:
    """Groups of live customers in the user's data scope that share a resident ID number, or
    a mobile and a name (only customers the user may see are grouped), up to ``limit``."""
    acting_user_with(PERMISSION)
    access.require_read()
    live = access.where(select(Customer)).where(Customer.merged_into_id.is_(None)).subquery()
    groups: list[DuplicateGroup] = []
    by_id = (
        select(live.c.id_number_hash)
        .where(live.c.id_number_hash.is_not(None))
        .group_by(live.c.id_number_hash)
        .having(func.count() > 1)
        .limit(limit)
    )
    for digest in session.scalars(by_id):
        rows = _members(session, access, Customer.id_number_hash == digest)
        groups.append(DuplicateGroup("id_number", rows))
    by_mobile = (
        select(live.c.mobile_hash, live.c.name)
        .where(live.c.mobile_hash.is_not(None))
        .group_by(live.c.mobile_hash, live.c.name)
        .having(func.count() > 1)
        .limit(limit)
    )
    seen = {frozenset(c.id for c in g.customers) for g in groups}
    for digest, name in session.execute(by_mobile):
        rows = _members(session, access, Customer.mobile_hash == digest, Customer.name == name)
        if frozenset(c.id for c in rows) not in seen:  # already listed by ID number
            groups.append(DuplicateGroup("mobile_name", rows))
    return groups[:limit]


def _members(session: Session, access: RecordAccess, *where: Any) -> list[Customer]:
    query = (
        access.where(select(Customer))
        .where(Customer.merged_into_id.is_(None), *where)
        .order_by(Customer.created_at, Customer.id)
    )
    return list(session.scalars(query))


def merge(session: Session, access: RecordAccess, survivor: Customer, merged: Customer) -> Customer:
    """Merge ``merged`` into ``survivor`` (see the module's docstring); the caller commits.
    Refused unless both are live, in the user's scope, and duplicates of each other."""
    acting_user_with(PERMISSION)
    access.check_record(survivor)
    access.check_record(merged)
    if survivor.id == merged.id:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"merged_id": [N_("Choose another record than the surviving one.")]},
        )
    for customer in (survivor, merged):
        if customer.merged_into_id is not None:
            raise Conflict(N_("This customer was merged into another record; change that one."))
        if customer.anonymised_at is not None:
            raise Conflict(N_("This customer's personal data was anonymised; it cannot change."))
    if not _alike(survivor, merged):
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={
                "merged_id": [
                    N_("Only records with the same ID number, or the same mobile and name, merge.")
                ]
            },
        )
    moved = _move_rows(session, survivor, merged)
    photos = [k for k in ("id_photo_front", "id_photo_back") if _take(survivor, merged, k)]
    merged.merged_into_id = survivor.id
    merged.merged_at = utcnow()
    session.flush()
    # the plugins that reference customers move their rows, in this transaction
    customer_merged(session, survivor.id, merged.id)
    details = {"survivor_id": str(survivor.id), "merged_id": str(merged.id), **moved,
               "id_photos": photos, "by": str(acting_user().id)}  # fmt: skip
    audit_record(session, "customer.merge", "customer", survivor.id, details)
    audit_record(session, "customer.merged", "customer", merged.id, details)
    emit(session, "customer.merged", "customer", merged.id, {"survivor_id": str(survivor.id)})
    return survivor


def _alike(one: Customer, other: Customer) -> bool:
    if one.id_number_hash and one.id_number_hash == other.id_number_hash:
        return True
    return bool(one.mobile_hash) and (one.mobile_hash, one.name) == (other.mobile_hash, other.name)


def _take(survivor: Customer, merged: Customer, key: str) -> bool:
    """Give the survivor the merged record's photo when it has none."""
    if getattr(survivor, key) is None and getattr(merged, key) is not None:
        setattr(survivor, key, getattr(merged, key))
        return True
    return False


def _move_rows(session: Session, survivor: Customer, merged: Customer) -> dict[str, Any]:
    """Consents and contacts move as they are; a card the survivor has already stays behind
    with the merged record, and a moved card is no longer a default where the survivor has
    one for that purpose."""
    counts: dict[str, Any] = {}
    for model, key in ((Consent, "consents"), (Contact, "contacts")):
        result = session.execute(
            update(model).where(model.customer_id == merged.id).values(customer_id=survivor.id)
        )
        counts[key] = result.rowcount  # type: ignore[attr-defined]
    survivor_cards = session.scalars(
        select(BankCard).where(BankCard.customer_id == survivor.id)
    ).all()
    have = {c.card_number_hash for c in survivor_cards}
    defaults = {c.purpose for c in survivor_cards if c.is_default}
    moved = kept = 0
    for card in session.scalars(select(BankCard).where(BankCard.customer_id == merged.id)).all():
        if card.card_number_hash in have:
            kept += 1
            continue
        card.customer_id = survivor.id
        if card.is_default and card.purpose in defaults:
            card.is_default = False
        if card.is_default:
            defaults.add(card.purpose)
        have.add(card.card_number_hash)
        moved += 1
    counts["cards"], counts["cards_already_on_survivor"] = moved, kept
    return counts
