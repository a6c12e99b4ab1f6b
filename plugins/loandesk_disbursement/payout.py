"""Paying out an approved order (放款): through a payout connector, or by hand with the
bank's reference. ``pay`` commits the order as ``paying`` before it calls the provider (so
that a crash between the provider paying and our commit leaves an order that can be sent
again under the same payout key, never one that forgets it asked), then applies the answer in
a second transaction. Paid — by the answer, a callback, a poll or by hand — activates the loan
with its schedule from the day paid, in the order's transaction. A channel that never calls
back is asked (``ask_provider``; every 10 minutes by ``jobs.poll_payouts``); a "paid" the
order cannot take raises an alert for people to check (``alerts``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_disbursement import alerts
from loandesk_disbursement.models import Order
from loandesk_disbursement.service import (
    MANUAL,
    check_blockers,
    get_order,
    local_today,
    record_change,
)


def _paid(session: Session, order: Order, paid_on: dt.date, diff: dict[str, Any]) -> None:
    """The money left: the loan becomes active with its schedule from ``paid_on``, in the
    same transaction as the order."""
    before = order.status
    sdk.loan_book().activate(session, order.loan_id, disbursed_on=paid_on)
    order.status, order.paid_on, order.failure_reason = "paid", paid_on, None
    session.flush()
    changed = {"status": [before, "paid"], "paid_on": paid_on.isoformat(), **diff}
    record_change(session, order, "paid", changed)


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
    check_blockers(session, order.loan_id)
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
    if order.status != "paying" and order.alert:
        # a new attempt while the channel says an earlier one was paid may pay twice
        raise sdk.Conflict(sdk.N_(
            "The payout channel reported a payout this order does not record: check it and "
            "clear the alert before paying again."
        ))  # fmt: skip
    check_blockers(session, order.loan_id)
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
        sdk.connector_failed(connector_key, error)
        raise sdk.Conflict(
            sdk.N_("The payout channel did not answer; send the payout again later."),
        ) from error
    order = get_order(session, order.id, lock=True)
    apply_result(session, order, _about(result, request.idempotency_key))
    session.commit()
    sdk.connector_succeeded(connector_key, f"payout answered: {result.status}")
    return order


def _about(result: sdk.PayoutResult, payout_key: str) -> sdk.PayoutResult:
    """An answer to a request under ``payout_key`` is about that payout, whatever attempt
    the order is at by the time it is applied."""
    return result if result.idempotency_key else replace(result, idempotency_key=payout_key)


def apply_result(session: Session, order: Order, result: sdk.PayoutResult) -> bool:
    """The provider's word on a payout of the order — from its answer, a callback or a poll
    — applied to the order, which the caller has locked: paid (activates the loan), failed or
    pending, when it is about the order's current payout and the order is ``paying``; returns
    whether it changed the order. Anything else changes nothing, but a ``paid`` that is not
    a repeat of the very payout that paid the order (the same key, paid through the channel)
    raises an alert: money went out that the order does not record (``alerts``)."""
    key = result.idempotency_key or str(order.payout_key or "")
    current = key == order.payout_key
    if order.status == "paying" and current:
        return _apply_current(session, order, result)
    if result.status == "paid" and not (
        current and order.status == "paid" and order.method != MANUAL
    ):
        alerts.raise_alert(session, order, result, key)
    return False


def _apply_current(session: Session, order: Order, result: sdk.PayoutResult) -> bool:
    order.provider_reference = (result.reference or order.provider_reference or "")[:100] or None
    if result.status == "paid":
        _paid(session, order, result.paid_on or local_today(),
              {"method": order.method, "provider_reference": order.provider_reference})  # fmt: skip
        return True
    if result.status == "failed":
        order.status = "failed"
        order.failure_reason = (result.message or "failed")[:500]
        session.flush()
        record_change(session, order, "failed",
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
    # finds its order, and ``apply_result`` leaves the order as it is (or raises an alert)
    order = get_order(session, (result.idempotency_key or "").rsplit("-", 1)[0], lock=True)
    apply_result(session, order, result)
    return order


def ask_provider(session: Session, order_id: Any) -> Order:
    """Ask the channel of a ``paying`` order what became of its current payout (for a
    provider that never calls back: the poll job and the page's button) and apply the answer
    exactly as a callback's, through ``apply_result`` under the order's row lock: an answer
    and a callback that arrive together change the order once. No transaction is open while
    the provider answers. Commits. ``Conflict`` when the order is not ``paying``, its channel
    cannot be asked (no ``query``) or did not answer (the order stays ``paying``)."""
    order = get_order(session, order_id)
    if order.status != "paying":
        raise sdk.Conflict(sdk.N_("Only an order being paid out can be asked about."))
    connector = sdk.payout_connectors().get(order.method or "")
    if connector is None or not sdk.can_query(connector):
        raise sdk.Conflict(sdk.N_("This payout channel cannot be asked for a payout's result."))
    order_id, key, method = order.id, str(order.payout_key), order.method or ""
    session.commit()
    try:
        result = connector.query(key)
    except Exception as error:
        sdk.connector_failed(method, error)
        raise sdk.Conflict(
            sdk.N_("The payout channel did not answer; ask again later."),
        ) from error
    sdk.connector_succeeded(method, f"payout query answered: {result.status}")
    order = get_order(session, order_id, lock=True)
    apply_result(session, order, _about(result, key))
    session.commit()
    return order
