"""Payout alerts (需核查): a provider said a payout was paid that the order cannot take — a
late "paid" about an earlier attempt after staff paid again, or about an order marked failed.
Money may have gone out twice, or on an order everyone believes unpaid; nothing is changed
automatically (which payout is the real one is for people to find out with the provider and
the bank), but the order carries the alert, in the audit, as an event and on its page, until
someone allowed to approve payouts checks it and clears it with a note."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_disbursement.models import Order
from loandesk_disbursement.service import MANUAL, get_order, record_change

ALERT_LENGTH = 500


def attempt_of(payout_key: str | None) -> int | None:
    """The attempt a payout key ``<order id>-<attempt>`` names."""
    tail = (payout_key or "").rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def raise_alert(session: Session, order: Order, result: sdk.PayoutResult, payout_key: str) -> None:
    """The provider reports ``result`` (paid) under ``payout_key``, which the order did not
    take: say what happened on the order, audit it and emit ``disbursement.payout_alert``.
    The same report again while its alert stands (a provider repeating its callback) adds
    nothing; a different one goes before the alert already standing."""
    text = _describe(order, result, payout_key)
    if order.alert and text in order.alert:
        return
    order.alert = (text + ("\n" + order.alert if order.alert else ""))[:ALERT_LENGTH]
    order.alert_at = sdk.utcnow()
    session.flush()
    record_change(session, order, "payout_alert", {
        "payout_key": payout_key,
        "attempt": attempt_of(payout_key),
        "provider_reference": result.reference,
        "amount": str(result.amount) if result.amount is not None else None,
        "paid_on": result.paid_on.isoformat() if result.paid_on else None,
        "order_status": order.status,
        "order_payout_key": order.payout_key,
        "alert": text,
    })  # fmt: skip


def clear_alert(session: Session, order_id: Any, *, user_id: uuid.UUID, note: str) -> Order:
    """Someone checked the alert with the provider and the bank and says what they found
    (required). The order's alert is gone; the audit keeps it with the note."""
    note = (note or "").strip()
    if not note:
        raise sdk.ValidationFailed(
            sdk.N_("Some fields need attention."),
            errors={"note": [sdk.N_("Say what you checked and found.")]},
        )
    order = get_order(session, order_id, lock=True)
    if not order.alert:
        raise sdk.Conflict(sdk.N_("This order has no alert to clear."))
    alert, raised_at = order.alert, order.alert_at
    order.alert, order.alert_at = None, None
    session.flush()
    sdk.audit_record(
        session, "disbursement.payout_alert_cleared", "disbursement", order.id,
        {"alert": alert, "raised_at": raised_at.isoformat() if raised_at else None,
         "note": note[:1000], "cleared_by": str(user_id)},
    )  # fmt: skip
    return order


def _describe(order: Order, result: sdk.PayoutResult, payout_key: str) -> str:
    """One sentence in the tenant's language (the alert is stored, read later by anyone):
    which attempt the provider reports paid, its reference and amount, and what the order
    was when it came."""
    zh = not sdk.current().locale.lower().startswith("en")
    amount = f"{Decimal(result.amount if result.amount is not None else order.amount):,.2f}"
    paid_on = result.paid_on.isoformat() if result.paid_on else "-"
    attempt = attempt_of(payout_key) or "?"
    current = attempt_of(order.payout_key) or "?"
    reference = result.reference or "-"
    if zh:
        if order.status == "paid" and order.method == MANUAL:
            state = f"此单已手工登记放款（银行流水号 {order.bank_reference or '-'}）"
        elif order.status == "paid":
            state = f"此单已由第{current}次放款付款（放款键 {order.payout_key}）"
        elif order.status == "paying":
            state = f"此单正在进行第{current}次放款（放款键 {order.payout_key}）"
        elif order.status == "failed":
            state = "此单已标记为放款失败"
        else:
            state = f"此单状态为 {order.status}"
        return (
            f"放款通道报告第{attempt}次放款已付款（放款键 {payout_key}，通道流水号 {reference}，"
            f"金额 {amount}，付款日 {paid_on}），但{state}。"
        )
    if order.status == "paid" and order.method == MANUAL:
        state = f"was already paid by hand (bank reference {order.bank_reference or '-'})"
    elif order.status == "paid":
        state = f"was already paid by attempt {current} (payout key {order.payout_key})"
    elif order.status == "paying":
        state = f"is paying attempt {current} (payout key {order.payout_key})"
    else:
        state = f"was {order.status}"
    return (
        f"The channel reports attempt {attempt} paid (payout key {payout_key}, channel "
        f"reference {reference}, amount {amount}, paid on {paid_on}) while the order {state}."
    )
