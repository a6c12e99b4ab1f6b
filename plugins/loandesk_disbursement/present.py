"""An order as the viewer may see it — the payee's card masked or hidden as the viewer's
field permission on ``account_number`` says — for the API and the pages alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_disbursement import service
from loandesk_disbursement.models import SHARE_UNIT, Order

PER_PAGE = 20


def present(order: Order, access: sdk.RecordAccess, keys: sdk.Keyring) -> dict[str, Any]:
    values = access.present(order, keys, plain=True)
    return {
        **values,
        "id": order.id,
        "loan_id": order.loan_id,
        "customer_id": order.customer_id,
        "product_id": order.product_id,
        "amount": order.amount,
        "status": order.status,
        "method": order.method,
        "reject_reason": order.reject_reason,
        "provider_reference": order.provider_reference,
        "bank_reference": order.bank_reference,
        "failure_reason": order.failure_reason,
        "alert": order.alert,
        "alert_at": order.alert_at,
        "reviewed_at": order.reviewed_at,
        "requested_by_id": order.requested_by_id,
        "reviewed_by_id": order.reviewed_by_id,
        "masked": [k for k in access.masked_fields() if k in values],
    }


def present_one(
    session: Session, order: Order, access: sdk.RecordAccess, keys: sdk.Keyring
) -> dict[str, Any]:
    """With the split between funders."""
    shares = [
        {
            "funder_id": s.funder_id,
            "funder_name": s.funder_name,
            "share": f"{s.share * 100 / SHARE_UNIT:.4f}".rstrip("0").rstrip(".") + "%",
            "amount": s.amount,
        }
        for s in service.shares_of(session, order)
    ]
    return {**present(order, access, keys), "shares": shares}


def list_orders(
    session: Session,
    access: sdk.RecordAccess,
    *,
    status: str | None = None,
    loan_id: Any = None,
    alert: bool = False,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> tuple[list[Order], int]:
    """Orders in the viewer's scope, newest first; ``alert``: only those that need checking
    (需核查: a provider reported a payout they do not record)."""
    query = access.where(select(Order))
    if status:
        query = query.where(Order.status == status)
    if alert:
        query = query.where(Order.alert_at.is_not(None))
    if loan_id:
        query = query.where(Order.loan_id == loan_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Order.created_at.desc(), Order.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), total


def find(session: Session, access: sdk.RecordAccess, order_id: Any) -> Order:
    """The order, 404 outside the viewer's scope."""
    order = service.get_order(session, order_id)
    access.check_record(order)
    return order
