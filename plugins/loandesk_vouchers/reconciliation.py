"""Daily reconciliation (对账): for a day, per voucher kind and ledger account, what the
ledger booked (debits less credits), what the vouchers say, and what was last exported or
pushed; rows where they differ are flagged. A voucher missing, altered, or left behind by a
ledger that moved after it was sent shows here."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_vouchers import mappings
from loandesk_vouchers.kinds import kind_of
from loandesk_vouchers.models import Voucher, VoucherLine

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Row:
    kind: str
    account: str
    subject_code: str
    ledger: Decimal
    vouchers: Decimal
    sent: Decimal
    sent_state: str  # none / exported / pushed / partly

    @property
    def voucher_differs(self) -> bool:
        return self.ledger != self.vouchers

    @property
    def sent_differs(self) -> bool:
        return self.vouchers != self.sent

    @property
    def matches(self) -> bool:
        return not (self.voucher_differs or self.sent_differs)


def reconcile(session: Session, day: dt.date) -> list[Row]:
    ledger: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for total in sdk.loan_book().ledger_totals(session, day):
        ledger[(kind_of(total.event), total.account)] += total.debit - total.credit
    booked: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    sent: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    sent_states: dict[tuple[str, str], set[str]] = defaultdict(set)
    subjects: dict[tuple[str, str], str] = {}
    for voucher, line in session.execute(
        select(Voucher, VoucherLine)
        .join(VoucherLine, VoucherLine.voucher_id == Voucher.id)
        .where(Voucher.day == day)
    ).all():
        key = (voucher.kind, line.account)
        booked[key] += line.debit - line.credit
        subjects.setdefault(key, line.subject_code)
    for voucher in session.scalars(select(Voucher).where(Voucher.day == day)):
        for item in voucher.sent or []:
            key = (voucher.kind, item["account"])
            sent[key] += Decimal(item["debit"]) - Decimal(item["credit"])
            sent_states[key].add("pushed" if voucher.pushed_at else "exported")
    found = mappings.resolver(session)
    rows = []
    for key in sorted(set(ledger) | set(booked) | set(sent)):
        kind, account = key
        mapping = mappings.lookup(found, kind, account)
        states = sent_states.get(key, set())
        rows.append(
            Row(
                kind,
                account,
                subjects.get(key) or (mapping.subject_code if mapping else ""),
                ledger.get(key, ZERO),
                booked.get(key, ZERO),
                sent.get(key, ZERO),
                "none" if not states else (states.pop() if len(states) == 1 else "partly"),
            )
        )
    return rows
