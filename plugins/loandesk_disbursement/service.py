"""Disbursement orders (放款单): the one place that changes them. Each function writes the
change, its audit event and its domain event in the caller's transaction — except ``pay``,
which commits the order as ``paying`` before it calls the provider (so that a crash between
the provider paying and our commit leaves an order that can be sent again under the same
key, never one that forgets it asked), then applies the answer in a second transaction.

Maker-checker (申请人/复核人): whoever requested an order can never approve or reject it;
the database refuses it too (``ck_disbursement_orders_maker_checker``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
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


def _blocked(session: Session, loan_id: uuid.UUID) -> None:
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


def _record(session: Session, order: Order, event: str, diff: Mapping[str, Any]) -> None:
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
    _blocked(session, loan.id)
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
    _record(session, order, "requested", {"amount": str(amount), "loan": loan.number,
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
    _record(session, order, "approved", {"status": ["requested", "approved"]})
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
    _record(session, order, "rejected", {"status": ["requested", "rejected"], "reason": reason})
    return order


def cancel(session: Session, order_id: Any, *, user_id: uuid.UUID) -> Order:
    """Withdraw an order before any money moved (requested or approved)."""
    order = get_order(session, order_id, lock=True)
    if order.status not in ("requested", "approved"):
        raise sdk.Conflict(sdk.N_("Only an order not yet paid out can be cancelled."))
    before, order.status = order.status, "cancelled"
    session.flush()
    _record(session, order, "cancelled", {"status": [before, "cancelled"]})
    return order


def _paid(session: Session, order: Order, paid_on: dt.date, diff: dict[str, Any]) -> None:
    """The money left: the loan becomes active with its schedule from ``paid_on``, in the
    same transaction as the order."""
    before = order.status
    sdk.loan_book().activate(session, order.loan_id, disbursed_on=paid_on)
    order.status, order.paid_on, order.failure_reason = "paid", paid_on, None
    session.flush()
    _record(session, order, "paid", {"status": [before, "paid"], "paid_on": paid_on.isoformat(),
                                     **diff})  # fmt: skip


def mark_paid(
    session: Session,
    order_id: Any,
    *,
    user_id: uuid.UUID,
    bank_reference: str,
    paid_on: Any,
) -> Order:
    """Staff paid it outside LoanDesk (online banking): the bank's reference and the day the
    money left, which starts the loan's schedule."""
    problems: dict[str, list[str]] = {}
    reference = (bank_reference or "").strip()
    if not reference:
        problems["bank_reference"] = [sdk.N_("Enter the bank's reference of the transfer.")]
    day = _date(paid_on)
    if day is None:
        problems["paid_on"] = [sdk.N_("Enter a date such as 2025-03-01.")]
    elif day > local_today():
        problems["paid_on"] = [sdk.N_("The payout date cannot be in the future.")]
    if problems:
        raise sdk.ValidationFailed(sdk.N_("Some fields need attention."), errors=problems)
    assert day is not None
    order = get_order(session, order_id, lock=True)
    if order.status not in ("approved", "failed"):
        raise sdk.Conflict(sdk.N_("Only an approved order can be marked paid."))
    _blocked(session, order.loan_id)
    order.method, order.bank_reference, order.paid_by_id = MANUAL, reference[:100], user_id
    _paid(session, order, day, {"method": MANUAL, "bank_reference": reference})
    return order


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def pay(
    session: Session,
    order_id: Any,
    *,
    user_id: uuid.UUID,
    connector_key: str,
    keys: sdk.Keyring,
    callback_url: Callable[[str], str],
    idempotency_key: str | None = None,
) -> Order:
    """Pay an approved (or failed) order through the connector ``connector_key``. The same
    ``idempotency_key`` again answers with the order as it is, paying nothing; an order
    already ``paying`` is sent again under its payout key, which the provider answers with
    the first payout. Commits (see the module's docstring)."""
    if idempotency_key:
        found = session.scalars(select(Order).where(Order.pay_key == idempotency_key)).first()
        if found is not None:
            if str(found.id) != str(order_id):
                raise sdk.Conflict(sdk.N_("This Idempotency-Key was used for another order."))
            return found
    connector = sdk.payout_connectors().get(connector_key)
    if connector is None:
        raise sdk.ValidationFailed(
            sdk.N_("Some fields need attention."),
            errors={"connector": [sdk.N_("No such payout channel.")]},
        )
    order = get_order(session, order_id, lock=True)
    if order.status not in ("approved", "failed", "paying"):
        raise sdk.Conflict(sdk.N_("Only an approved order can be paid."))
    _blocked(session, order.loan_id)
    if order.status != "paying":
        order.attempts += 1
        order.payout_key = f"{order.id}-{order.attempts}"
        before, order.status = order.status, "paying"
        order.method, order.paid_by_id, order.failure_reason = connector_key, user_id, None
        session.flush()
        sdk.audit_record(
            session, "disbursement.paying", "disbursement", order.id,
            {"status": [before, "paying"], "method": connector_key, "attempt": order.attempts},
        )  # fmt: skip
    # the first key stays the order's: a later retry under another key resends the same
    # payout key, which the provider answers with the first payout anyway
    order.pay_key = order.pay_key or idempotency_key
    session.commit()
    request = sdk.PayoutRequest(
        order_id=str(order.id),
        order_number=order.number,
        idempotency_key=str(order.payout_key),
        amount=order.amount,
        currency=sdk.current().currency,
        account_name=order.account_name,
        account_number=order.get_personal("account_number", keys=keys) or "",
        bank_name=order.bank_name,
        loan_number=order.loan_number,
        callback_url=callback_url(connector_key),
    )
    try:
        result = connector.pay(request)
    except Exception as error:  # the provider may or may not have it: stay paying
        order = get_order(session, order.id, lock=True)
        order.failure_reason = sdk.scrub_personal(str(error))[:500]
        session.commit()
        raise sdk.Conflict(
            sdk.N_("The payout channel did not answer; send the payout again later."),
        ) from error
    order = get_order(session, order.id, lock=True)
    apply_result(session, order, result)
    session.commit()
    return order


def apply_result(session: Session, order: Order, result: sdk.PayoutResult) -> bool:
    """The provider's word on the order's current payout: paid (activates the loan), failed,
    or pending. Whatever comes for an order no longer ``paying`` (a second callback, a late
    one for an earlier attempt) changes nothing; returns whether it changed the order."""
    if order.status != "paying":
        return False
    if result.idempotency_key and result.idempotency_key != order.payout_key:
        return False  # about an earlier attempt of this order
    order.provider_reference = (result.reference or order.provider_reference or "")[:100] or None
    if result.status == "paid":
        _paid(session, order, result.paid_on or local_today(),
              {"method": order.method, "provider_reference": order.provider_reference})  # fmt: skip
        return True
    if result.status == "failed":
        order.status = "failed"
        order.failure_reason = (result.message or "failed")[:500]
        session.flush()
        _record(session, order, "failed",
                {"status": ["paying", "failed"], "reason": order.failure_reason})  # fmt: skip
        return True
    session.flush()
    return False


def callback(
    session: Session, connector_key: str, headers: Mapping[str, str], body: bytes
) -> Order:
    """A provider's asynchronous result, verified by its connector and applied once."""
    connector = sdk.payout_connectors().get(connector_key)
    if connector is None:
        raise sdk.NotFound(sdk.N_("No such payout channel."))
    try:
        result = connector.read_callback(headers, body)
    except sdk.InvalidCallback as error:
        raise sdk.DomainError(sdk.N_("The callback could not be verified.")) from error
    # a payout key is "<order id>-<attempt>": a late answer about an earlier attempt still
    # finds its order, and ``apply_result`` ignores it
    order = get_order(session, (result.idempotency_key or "").rsplit("-", 1)[0], lock=True)
    apply_result(session, order, result)
    return order
