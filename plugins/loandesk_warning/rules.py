"""The warning rules: each turns what is known about a loan today into a reason (in Chinese
and English) or nothing. Thresholds and on/off come from the plugin's settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loandesk import sdk
from loandesk_warning.features import Ledger, SignalDate


@dataclass(frozen=True)
class Facts:
    """What the rules read about one loan as of ``today``."""

    history: sdk.LoanHistory
    ledger: Ledger
    today: dt.date
    signals: Sequence[SignalDate]
    bureau: Mapping[str, Any]  # the credit plugin's risk variables of the borrower, if any
    model_score: int | None


def reason(code: str, zh: str, en: str) -> dict[str, str]:
    return {"code": code, "zh": zh, "en": en}


def _recent(facts: Facts, kind: str, days: int) -> list[SignalDate]:
    since = facts.today - dt.timedelta(days=days)
    return [s for s in facts.signals if s.kind == kind and since < s.occurred_on <= facts.today]


def first_payment(facts: Facts, settings: Mapping[str, Any]) -> dict[str, str] | None:
    """A new loan whose first installment is due within N days (or is under 30 days past
    due) and nothing has been paid; with an active model, only from a minimum score."""
    lines = sorted(
        (i for i in facts.history.installments if i.number >= 1), key=lambda i: i.due_date
    )
    if not lines or facts.ledger.paid_by(facts.today) > 0:
        return None
    due_on = lines[0].due_date
    until = (due_on - facts.today).days
    if until > settings["first_payment_days"] or until <= -30:
        return None
    if facts.model_score is not None and facts.model_score < settings["first_payment_min_score"]:
        return None
    return reason(
        "first_payment",
        f"首期违约风险：首期 {due_on.isoformat()} 到期，尚无还款",
        f"First payment default risk: the first installment is due {due_on.isoformat()} "
        "and nothing has been paid",
    )


def partial_payment(facts: Facts, settings: Mapping[str, Any]) -> dict[str, str] | None:
    """A payment within N days left an overdue amount, which still stands."""
    found = _recent(facts, "partial_payment", settings["partial_payment_days"])
    overdue = facts.ledger.overdue_at(facts.today)
    if not found or overdue <= 0:
        return None
    day = max(s.occurred_on for s in found).isoformat()
    return reason(
        "partial_payment",
        f"部分还款：{day} 还款后仍逾期 ¥{overdue:,.2f}",
        f"Partial payment: ¥{overdue:,.2f} still overdue after the payment of {day}",
    )


def contact_change(facts: Facts, settings: Mapping[str, Any]) -> dict[str, str] | None:
    found = _recent(facts, "contact_change", settings["contact_change_days"])
    if not found:
        return None
    day = max(s.occurred_on for s in found).isoformat()
    return reason(
        "contact_change",
        f"联系方式变更：借款人 {day} 变更了手机号或地址",
        f"Contact change: the borrower changed their mobile or address on {day}",
    )


def enquiries(facts: Facts, settings: Mapping[str, Any]) -> dict[str, str] | None:
    count = facts.bureau.get("bureau_inquiries_90d")
    if not isinstance(count, int) or count < settings["enquiries_90d"]:
        return None
    return reason(
        "enquiries",
        f"多头查询：近90天征信查询 {count} 次",
        f"Many bureau enquiries: {count} in 90 days",
    )


def broken_promises(facts: Facts, settings: Mapping[str, Any]) -> dict[str, str] | None:
    days = settings["promise_days"]
    found = _recent(facts, "promise_broken", days)
    if len(found) < settings["promises_broken"]:
        return None
    return reason(
        "promise_broken",
        f"多次违约承诺：近{days}天承诺还款违约 {len(found)} 次",
        f"Repeated broken promises: {len(found)} promises to pay broken in {days} days",
    )


RULES = (
    ("first_payment_rule", first_payment),
    ("partial_payment_rule", partial_payment),
    ("contact_change_rule", contact_change),
    ("enquiries_rule", enquiries),
    ("promise_rule", broken_promises),
)


def hits(facts: Facts, settings: Mapping[str, Any]) -> list[dict[str, str]]:
    """The reasons of the rules that are on and fire, in the rules' order."""
    found = []
    for switch, rule in RULES:
        if settings[switch] and (hit := rule(facts, settings)) is not None:
            found.append(hit)
    return found
