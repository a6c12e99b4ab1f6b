"""Duplicate and exposure checks (重复申请与授信敞口): when an application is created,
submitted or shown, the other open applications of the same borrower — every customer
record with the same ID number — and what the borrower owes or asks for in all. Open
applications are counted here; other plugins (the servicing ones: loans) add theirs through
the ``loandesk_customer_exposure`` hook. A product's ``max_exposure``, or else the intake
setting of that name, caps it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    ValidationFailed,
    customer_exposure,
    message,
    plugin_settings,
    record_type,
)
from loandesk_intake.models import OPEN_STATUSES, Application, Product


@dataclass(frozen=True)
class Exposure:
    """``others``: the borrower's other open applications (draft, submitted, in review,
    sent back); ``elsewhere``: what other plugins count (loans); ``total``: both plus the
    application's own amount; ``limit``: the cap that applies, if any."""

    others: list[Application]
    applications_amount: Decimal
    elsewhere: Decimal
    total: Decimal
    limit: Decimal | None

    @property
    def over_limit(self) -> bool:
        return self.limit is not None and self.total > self.limit


def same_borrower(session: Session, customer_id: uuid.UUID) -> list[uuid.UUID]:
    """``customer_id`` and every other customer record of the tenant with its ID number."""
    model: Any = record_type("customer").model
    hashed = getattr(model, "id_number_hash", None)
    if hashed is None:
        return [customer_id]
    number = session.scalar(select(hashed).where(model.id == customer_id))
    if not number:
        return [customer_id]
    found = set(session.scalars(select(model.id).where(hashed == number)))
    return [customer_id, *sorted(found - {customer_id})]


def tenant_limit() -> Decimal | None:
    raw = str(plugin_settings("intake").get("max_exposure") or "").strip()
    try:
        return Decimal(raw) if raw else None
    except InvalidOperation:
        return None


def exposure_of(
    session: Session,
    customer_id: uuid.UUID,
    amount: Decimal,
    *,
    product: Product | None = None,
    exclude: uuid.UUID | None = None,
) -> Exposure:
    """The exposure of ``customer_id``'s borrower if an application of ``amount`` (the one
    ``exclude`` names, if saved) were added."""
    customers = same_borrower(session, customer_id)
    query = (
        select(Application)
        .where(Application.customer_id.in_(customers), Application.status.in_(OPEN_STATUSES))
        .order_by(Application.created_at)
    )
    if exclude is not None:
        query = query.where(Application.id != exclude)
    others = list(session.scalars(query))
    applications_amount = sum((a.amount for a in others), Decimal(0))
    elsewhere = customer_exposure(session, customers)
    limit = product.max_exposure if product and product.max_exposure else tenant_limit()
    total = applications_amount + elsewhere + amount
    return Exposure(others, applications_amount, elsewhere, total, limit)


def check_limit(found: Exposure) -> None:
    """422 on ``amount`` when the borrower's exposure would pass the cap."""
    if found.over_limit:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={
                "amount": [
                    message(
                        N_(
                            "The borrower's exposure would be %(total)s, over the limit of "
                            "%(limit)s."
                        ),
                        total=f"{found.total:,.2f}",
                        limit=f"{found.limit:,.2f}",
                    )
                ]
            },
        )
