"""How long the payee's bank card on a disbursement order is kept after the order ended
(paid, rejected or cancelled): the order, its amount and its references stay (they are the
lender's accounting records); the card number and the account holder's name are cleared."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from loandesk.sdk import ANONYMISED_NAME, RetentionSubject, clear_personal
from loandesk_disbursement.models import Order

ENDED = ("paid", "rejected", "cancelled")


def _due(cutoff: datetime) -> Select[Any]:
    return select(Order.id).where(
        Order.status.in_(ENDED), Order.updated_at < cutoff, Order.anonymised_at.is_(None)
    )


def _anonymise(session: Session, order_id: uuid.UUID, now: datetime) -> Sequence[str]:
    order = session.scalar(select(Order).where(Order.id == order_id))
    if order is None:
        return []
    cleared = clear_personal(order)
    order.account_name = ANONYMISED_NAME
    order.anonymised_at = now
    session.flush()
    return [*cleared, "account_name"]


ORDERS = RetentionSubject(
    key="disbursement.order",
    label_zh="放款单收款账户",
    label_en="Disbursement payee accounts",
    clock_zh="放款单办结后",
    clock_en="after the order was settled",
    due=_due,
    anonymise=_anonymise,
    # transaction records are kept at least ten years (反洗钱法, 2024 revision, art. 34), like
    # the customer's own records; a compliance officer confirms it per firm
    minimum_days=3650,
    basis="反洗钱法 第三十四条",
)
