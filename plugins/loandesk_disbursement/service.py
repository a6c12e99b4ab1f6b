"""Disbursement orders (放款单) from request to review: each function writes the change, its
audit event and its domain event in the caller's transaction (paying them: ``payout``).

Maker-checker (申请人/复核人): whoever requested an order can never approve or reject it;
the database refuses it too (``ck_disbursement_orders_maker_checker``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_disbursement import funders
from loandesk_disbursement.models import OPEN_STATUSES, Order, OrderShare

MANUAL = "manual"
CENT = Decimal("0.01")


def local_today() -> dt.date:
    return dt.datetime.now(ZoneInfo(sdk.current().timezone)).date()


def get_order(session: Session, order_id: Any, *, lock: bool = False) -> Order:
    try:
        key = uuid.UUID(str(order_id))
    except ValueError:
        raise sdk.NotFound(sdk.N_("No such disbursement order.")) from None
    query = select(Order).where(Order.id == key)
    if lock:
        query = query.with_for_update()
    found = session.scalars(query).first()
    if found is None:
        raise sdk.NotFound(sdk.N_("No such disbursement order."))
    return found


def shares_of(session: Session, order: Order) -> list[OrderShare]:
    query = select(OrderShare).where(OrderShare.order_id == order.id).order_by(OrderShare.position)
    return list(session.scalars(query))


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        amount = Decimal(-1)
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(CENT):
        raise sdk.ValidationFailed(
            sdk.N_("Some fields need attention."),
            errors={"amount": [sdk.N_("Enter an amount such as 200000.00.")]},
        )
    return amount


def check_blockers(session: Session, loan_id: uuid.UUID) -> None:
    reasons = sdk.payout_blockers(session, loan_id)
    if reasons:
        raise sdk.Conflict(sdk.N_("This loan cannot be paid out yet."), errors={"loan_id": reasons})


def _pending_loan(session: Session, loan_id: Any) -> sdk.LoanSummary:
    loan = sdk.loan_book().get(session, loan_id)
    if loan is None:
        raise sdk.ValidationFailed(
            sdk.N_("Some fields need attention."), errors={"loan_id": [sdk.N_("No such loan.")]}
        )
    if loan.status != "pending":
        raise sdk.Conflict(
            sdk.N_("This loan is not waiting for payout."),
            errors={"loan_id": [sdk.N_("This loan is not waiting for payout.")]},
        )
    return loan


def _check_tranche(loan: sdk.LoanSummary, amount: Decimal) -> None:
    """One order pays the whole principal: the schedule (``sdk.finance``) is built from one
    principal and one start date, so a loan paid out in tranches would need interest on each
    tranche from its own date, which the schedule cannot state (docs/disbursement.md)."""
    if amount == loan.principal:
        return
    if loan.product_terms.tranches_allowed:
        why = sdk.N_(
            "Payout in tranches is not supported yet: pay the whole principal (%(principal)s) "
            "in one order."
        )
    else:
        why = sdk.N_("The amount must be the loan's principal (%(principal)s).")
    raise sdk.ValidationFailed(
        why, errors={"amount": [why]}, params={"principal": f"{loan.principal:,.2f}"}
    )


def _next_number(session: Session, today: dt.date) -> str:
    prefix = "FK" + today.strftime("%Y%m%d")
    taken = session.scalar(select(func.count()).where(Order.number.like(prefix + "%"))) or 0
    return f"{prefix}{taken + 1:04d}"


def _payload(order: Order) -> dict[str, Any]:
    return {
        "number": order.number,
        "loan_id": str(order.loan_id),
        "amount": str(order.amount),
        "status": order.status,
    }


def record_change(session: Session, order: Order, event: str, diff: Mapping[str, Any]) -> None:
    sdk.audit_record(session, f"disbursement.{event}", "disbursement", order.id, dict(diff))
    sdk.emit(session, f"disbursement.{event}", "disbursement", order.id, _payload(order))


def request_order(
    session: Session,
    values: Mapping[str, Any],
    *,
    user_id: uuid.UUID,
    keys: sdk.Keyring,
    idempotency_key: str | None = None,
) -> tuple[Order, bool]:
    """A new order for the pending loan ``values["loan_id"]`` (amount, account_name,
    account_number, bank_name); (order, created). The same ``idempotency_key`` again gives
    the first order back, whatever the body."""
    if idempotency_key:
        found = session.scalars(select(Order).where(Order.request_key == idempotency_key)).first()
        if found is not None:
            return found, False
    problems: dict[str, list[str]] = {}
    for field in ("loan_id", "amount", "account_name", "account_number", "bank_name"):
        if not str(values.get(field) or "").strip():
            problems[field] = [sdk.N_("This field is required.")]
    for field, check in (
        ("amount", lambda: _amount(values["amount"])),
        ("account_number", lambda: sdk.validate_personal(
            "bank_card", str(values["account_number"]), field="account_number")),
    ):  # fmt: skip
        if field not in problems:
            try:
                check()
            except sdk.ValidationFailed as problem:
                problems.update(problem.errors)
    if problems:
        raise sdk.ValidationFailed(sdk.N_("Some fields need attention."), errors=problems)
    amount = _amount(values["amount"])
    loan = _pending_loan(session, values["loan_id"])
    _check_tranche(loan, amount)
    open_order = session.scalar(
        select(Order.number).where(Order.loan_id == loan.id, Order.status.in_(OPEN_STATUSES))
    )
    if open_order:
        raise sdk.Conflict(
            sdk.N_("Order %(number)s for this loan is still open."), params={"number": open_order}
        )
    check_blockers(session, loan.id)
    order = Order(
        number=_next_number(session, local_today()),
        loan_id=loan.id,
        loan_number=loan.number,
        customer_id=loan.customer_id,
        product_id=_uuid_or_none(loan.product_terms.product_id),
        product_name=loan.product_terms.name,
        amount=amount,
        account_name=str(values["account_name"]).strip()[:50],
        bank_name=str(values["bank_name"]).strip()[:60],
        status="requested",
        requested_by_id=user_id,
        request_key=idempotency_key or None,
        owner_id=loan.owner_id,
        org_unit_id=loan.org_unit_id,
    )
    order.set_personal("account_number", str(values["account_number"]), keys=keys)
    session.add(order)
    for position, (funder_id, name, share, part) in enumerate(funders.split(loan, amount)):
        session.add(
            OrderShare(
                order_id=order.id, position=position, funder_id=funder_id,
                funder_name=name, share=share, amount=part,
            )
        )  # fmt: skip
    session.flush()
    record_change(session, order, "requested", {"amount": str(amount), "loan": loan.number,
                                          "account_number": "***"})  # fmt: skip
    return order, True


def _uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _review(session: Session, order_id: Any, user_id: uuid.UUID) -> Order:
    order = get_order(session, order_id, lock=True)
    if order.requested_by_id == user_id:
        raise sdk.Forbidden(sdk.N_("You requested this payout: another person must review it."))
    if order.status != "requested":
        raise sdk.Conflict(sdk.N_("Only a requested order can be reviewed."))
    return order


def approve(session: Session, order_id: Any, *, user_id: uuid.UUID) -> Order:
    """The checker (复核人) approves: never the one who requested it."""
    order = _review(session, order_id, user_id)
    order.status, order.reviewed_by_id, order.reviewed_at = "approved", user_id, sdk.utcnow()
    session.flush()
    record_change(session, order, "approved", {"status": ["requested", "approved"]})
    return order


def reject(session: Session, order_id: Any, *, user_id: uuid.UUID, reason: str) -> Order:
    """The checker rejects, with a reason the requester reads."""
    reason = (reason or "").strip()
    if not reason:
        raise sdk.ValidationFailed(
            sdk.N_("Some fields need attention."),
            errors={"reason": [sdk.N_("Say why the payout is rejected.")]},
        )
    order = _review(session, order_id, user_id)
    order.status, order.reviewed_by_id, order.reviewed_at = "rejected", user_id, sdk.utcnow()
    order.reject_reason = reason[:500]
    session.flush()
    record_change(
        session, order, "rejected", {"status": ["requested", "rejected"], "reason": reason}
    )
    return order


def cancel(session: Session, order_id: Any, *, user_id: uuid.UUID) -> Order:
    """Withdraw an order before any money moved (requested or approved)."""
    order = get_order(session, order_id, lock=True)
    if order.status not in ("requested", "approved"):
        raise sdk.Conflict(sdk.N_("Only an order not yet paid out can be cancelled."))
    before, order.status = order.status, "cancelled"
    session.flush()
    record_change(session, order, "cancelled", {"status": [before, "cancelled"]})
    return order
