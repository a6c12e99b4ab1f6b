"""A loan's features as of a cut-off date, rebuilt from its schedule and payments (and the
signals events left), using only what was known on that date: payments received after it,
penalties charged since and the installments' current paid state are never read, so that a
model trained on past cut-offs sees what the daily scoring sees today (no leakage). The label
is whether the loan then reached ``label_dpd`` days past due within ``label_days``.

Amounts stay Decimal; the features handed to the model are plain floats (ratios and counts,
never money)."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from loandesk import sdk

ZERO = Decimal("0.00")
WINDOW = 90  # days: the recent window of the counting features
LATE_AFTER = 3  # days: an installment covered later than this was late

# (name, Chinese, English): the model's inputs, in this order
FEATURES: tuple[tuple[str, str, str], ...] = (
    ("months_on_book", "账龄（月）", "Months on book"),
    ("days_past_due", "当前逾期天数", "Days past due"),
    ("max_days_past_due", "历史最长逾期天数", "Longest days past due"),
    ("late_installments", "曾逾期期数", "Installments paid late"),
    ("paid_ratio", "已还占应还比例", "Share of the due amount paid"),
    ("overdue_ratio", "逾期金额占本金比例", "Overdue amount to principal"),
    ("days_since_payment", "距上次还款天数", "Days since the last payment"),
    ("partial_payments_90d", "近90天部分还款次数", "Partial payments in 90 days"),
    ("contact_changes_90d", "近90天联系方式变更次数", "Contact changes in 90 days"),
    ("promises_broken_90d", "近90天违约承诺次数", "Broken promises in 90 days"),
)
NAMES = tuple(name for name, _, _ in FEATURES)
LABELS = {name: (zh, en) for name, zh, en in FEATURES}


@dataclass(frozen=True)
class SignalDate:
    kind: str  # partial_payment / contact_change / promise_broken
    occurred_on: dt.date


class Ledger:
    """A loan's dues and posted payments in date order, with running totals: what was due
    before a date and what had been paid by it, for any date."""

    def __init__(self, history: sdk.LoanHistory) -> None:
        lines = sorted(history.installments, key=lambda i: (i.due_date, i.number))
        # the penalty is left out: it is charged later, from what happened after the due date
        self.due_dates = [line.due_date for line in lines]
        self.cumulative_due: list[Decimal] = []
        total = ZERO
        for line in lines:
            total += line.principal_due + line.interest_due + line.fees_due
            self.cumulative_due.append(total)
        posted = sorted(
            (p for p in history.payments if p.status == "posted"), key=lambda p: p.received_on
        )
        self.paid_dates = [p.received_on for p in posted]
        self.cumulative_paid: list[Decimal] = []
        total = ZERO
        for payment in posted:
            total += payment.amount
            self.cumulative_paid.append(total)

    @property
    def total_due(self) -> Decimal:
        return self.cumulative_due[-1] if self.cumulative_due else ZERO

    def paid_by(self, day: dt.date) -> Decimal:
        """Paid on or before ``day``."""
        index = bisect.bisect_right(self.paid_dates, day)
        return self.cumulative_paid[index - 1] if index else ZERO

    def due_before(self, day: dt.date) -> Decimal:
        index = bisect.bisect_left(self.due_dates, day)
        return self.cumulative_due[index - 1] if index else ZERO

    def overdue_at(self, day: dt.date) -> Decimal:
        return max(self.due_before(day) - self.paid_by(day), ZERO)

    def covered_on(self, index: int) -> dt.date | None:
        """The day payments first covered installment ``index`` and all before it."""
        found = bisect.bisect_left(self.cumulative_paid, self.cumulative_due[index])
        return self.paid_dates[found] if found < len(self.paid_dates) else None

    def days_past_due(self, day: dt.date) -> int:
        """Days since the oldest due date before ``day`` that payments by ``day`` do not
        cover (0 when none)."""
        paid = self.paid_by(day)
        for due_date, cumulative in zip(self.due_dates, self.cumulative_due, strict=True):
            if due_date >= day:
                return 0
            if cumulative > paid:
                return (day - due_date).days
        return 0


def features(
    history: sdk.LoanHistory, cutoff: dt.date, signals: Sequence[SignalDate] = ()
) -> dict[str, float]:
    """The features of ``history`` as of business date ``cutoff``: payments received that
    day count, dues of that day are not yet overdue (see the module)."""
    ledger = Ledger(history)
    loan = history.loan
    started = loan.disbursed_on or cutoff
    due = ledger.due_before(cutoff + dt.timedelta(days=1))
    paid = ledger.paid_by(cutoff)
    longest, late = 0, 0
    for index, due_date in enumerate(ledger.due_dates):
        if due_date >= cutoff or ledger.cumulative_due[index] == 0:
            continue
        covered = ledger.covered_on(index)
        end = covered if covered is not None and covered <= cutoff else cutoff
        lateness = max((end - due_date).days, 0)
        longest = max(longest, lateness)
        late += lateness > LATE_AFTER
    recent = cutoff - dt.timedelta(days=WINDOW)
    last_paid = [d for d in ledger.paid_dates if d <= cutoff]
    partial = sum(1 for d in last_paid if d > recent and ledger.overdue_at(d) > 0)
    counted = [s for s in signals if recent < s.occurred_on <= cutoff]
    principal = loan.principal or Decimal(1)
    return {
        "months_on_book": max((cutoff - started).days, 0) / 30,
        "days_past_due": float(ledger.days_past_due(cutoff)),
        "max_days_past_due": float(longest),
        "late_installments": float(late),
        "paid_ratio": float(min(paid / due, Decimal(1))) if due > 0 else 1.0,
        "overdue_ratio": float(ledger.overdue_at(cutoff) / principal),
        "days_since_payment": float(
            min((cutoff - (last_paid[-1] if last_paid else started)).days, 365)
        ),
        "partial_payments_90d": float(partial),
        "contact_changes_90d": float(sum(s.kind == "contact_change" for s in counted)),
        "promises_broken_90d": float(sum(s.kind == "promise_broken" for s in counted)),
    }


def label(history: sdk.LoanHistory, cutoff: dt.date, *, label_dpd: int, label_days: int) -> bool:
    """Whether the loan reached ``label_dpd`` days past due after ``cutoff`` and within
    ``label_days`` of it: some installment still not covered ``label_dpd`` days after its
    due date, that day falling in the window."""
    ledger = Ledger(history)
    horizon = cutoff + dt.timedelta(days=label_days)
    for index, due_date in enumerate(ledger.due_dates):
        reached = due_date + dt.timedelta(days=label_dpd)
        if cutoff < reached <= horizon and ledger.paid_by(reached) < ledger.cumulative_due[index]:
            return True
    return False


def trainable(history: sdk.LoanHistory, cutoff: dt.date, *, label_dpd: int) -> bool:
    """A loan a training row may be taken from at ``cutoff``: paid out before it, still owing
    then, and not already ``label_dpd`` days past due (collections has it by then)."""
    loan = history.loan
    if loan.disbursed_on is None or loan.disbursed_on >= cutoff:
        return False
    ledger = Ledger(history)
    if ledger.paid_by(cutoff) >= ledger.total_due:
        return False
    return ledger.days_past_due(cutoff) < label_dpd
