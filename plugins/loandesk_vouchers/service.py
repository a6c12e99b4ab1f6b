"""Vouchers (记账凭证) made from the loan ledger, the source of truth: one voucher per business
day and kind (the ledger's events grouped in ``kinds``), one line per ledger account (and
auxiliary code) with the day's net on the side it falls, so each voucher balances exactly as
the ledger's events do. Generating a day again changes only drafts (and failed pushes): a
voucher exported or pushed stands, and reconciliation shows where the ledger moved since."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_vouchers import mappings
from loandesk_vouchers.kinds import KINDS, account_zh, kind_of, kind_zh
from loandesk_vouchers.models import Voucher, VoucherLine

ZERO = Decimal("0.00")
CHANGEABLE = ("draft", "push_failed")  # generating again may rebuild these


def local_today() -> dt.date:
    return sdk.utcnow().astimezone(ZoneInfo(sdk.current().timezone)).date()


@dataclass(frozen=True)
class Planned:
    """A line as the ledger makes it, before it is stored."""

    account: str
    subject_code: str
    subject_name: str
    aux: str
    aux_code: str
    summary: str
    debit: Decimal
    credit: Decimal

    def key(self) -> tuple[Any, ...]:
        return (
            self.account,
            self.subject_code,
            self.subject_name,
            self.aux,
            self.aux_code,
            self.summary,
            self.debit,
            self.credit,
        )


@dataclass
class Generated:
    created: int = 0
    rebuilt: int = 0
    unchanged: int = 0
    kept: int = 0  # exported or pushed: left as they are
    removed: int = 0


def _aux_code(aux: str, total: sdk.LedgerTotal) -> str:
    if aux == "customer":
        return str(total.customer_id)
    if aux == "product":
        return total.product_code
    return ""


def plan(session: Session, day: dt.date) -> dict[str, list[Planned]]:
    """The lines of each kind's voucher for ``day``, from the ledger; ``ValidationFailed``
    naming every kind and account without a mapping (nothing is made then)."""
    found = mappings.resolver(session)
    nets: dict[str, dict[tuple[str, str], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    subjects: dict[tuple[str, str], Any] = {}
    missing: set[tuple[str, str]] = set()
    for total in sdk.loan_book().ledger_totals(session, day):
        kind = kind_of(total.event)
        mapping = mappings.lookup(found, kind, total.account)
        if mapping is None:
            missing.add((kind, total.account))
            continue
        subjects[(kind, total.account)] = mapping
        nets[kind][(total.account, _aux_code(mapping.aux, total))] += total.debit - total.credit
    if missing:
        raise sdk.ValidationFailed(
            sdk.N_(
                "Map these ledger accounts to your chart of accounts first; no voucher was made."
            ),
            errors={"mapping": [f"{kind}/{account}" for kind, account in sorted(missing)]},
        )
    planned: dict[str, list[Planned]] = {}
    for kind, by_account in nets.items():
        lines = []
        for (account, aux_code), net in by_account.items():
            if net == 0:
                continue
            mapping = subjects[(kind, account)]
            lines.append(
                Planned(
                    account,
                    mapping.subject_code,
                    mapping.subject_name,
                    mapping.aux,
                    aux_code,
                    f"{kind_zh(kind)}-{account_zh(account)}",
                    net if net > 0 else ZERO,
                    -net if net < 0 else ZERO,
                )
            )
        if lines:  # debits first, then credits, each by subject
            lines.sort(key=lambda p: (p.debit == 0, p.subject_code, p.account, p.aux_code))
            planned[kind] = lines
    return planned


def _summary(day: dt.date, kind: str) -> str:
    return f"{day.year}年{day.month}月{day.day}日{kind_zh(kind)}汇总"


def _next_number(session: Session, period: str, word: str) -> int:
    top = session.scalar(
        select(func.max(Voucher.number)).where(Voucher.period == period, Voucher.word == word)
    )
    return int(top or 0) + 1


def lines_of(session: Session, voucher: Voucher) -> list[VoucherLine]:
    return list(
        session.scalars(
            select(VoucherLine)
            .where(VoucherLine.voucher_id == voucher.id)
            .order_by(VoucherLine.seq)
        )
    )


def _stored(line: VoucherLine) -> tuple[Any, ...]:
    return (
        line.account,
        line.subject_code,
        line.subject_name,
        line.aux,
        line.aux_code,
        line.summary,
        line.debit,
        line.credit,
    )


def _write_lines(session: Session, voucher: Voucher, lines: list[Planned]) -> None:
    session.execute(delete(VoucherLine).where(VoucherLine.voucher_id == voucher.id))
    for seq, line in enumerate(lines, start=1):
        session.add(
            VoucherLine(
                voucher_id=voucher.id,
                seq=seq,
                account=line.account,
                subject_code=line.subject_code,
                subject_name=line.subject_name,
                aux=line.aux,
                aux_code=line.aux_code,
                summary=line.summary,
                debit=line.debit,
                credit=line.credit,
            )
        )
    voucher.total = sum((line.debit for line in lines), ZERO)
    voucher.updated_at = sdk.utcnow()


def generate(session: Session, day: dt.date) -> Generated:
    """Make (or bring up to date) ``day``'s vouchers from the ledger, in the caller's
    transaction; idempotent: the same ledger gives the same vouchers, never a second set."""
    if day >= local_today():
        raise sdk.ValidationFailed(
            sdk.N_("Some fields need attention."),
            errors={"day": [sdk.message(sdk.N_("Vouchers are made for a day that has ended."))]},
        )
    planned = plan(session, day)
    word = str(sdk.plugin_settings("vouchers").get("voucher_word") or "记")
    existing = {v.kind: v for v in session.scalars(select(Voucher).where(Voucher.day == day))}
    done = Generated()
    for kind in sorted(set(planned) | set(existing)):
        lines, voucher = planned.get(kind, []), existing.get(kind)
        if voucher is None:
            period = f"{day.year:04d}-{day.month:02d}"
            voucher = Voucher(
                day=day,
                kind=kind,
                word=word,
                period=period,
                number=_next_number(session, period, word),
                summary=_summary(day, kind),
                total=ZERO,
                state="draft",
                push_attempts=0,
            )
            session.add(voucher)
            session.flush()
            _write_lines(session, voucher, lines)
            done.created += 1
            continue
        if voucher.state not in CHANGEABLE:
            done.kept += 1
            continue
        if [_stored(line) for line in lines_of(session, voucher)] == [p.key() for p in lines]:
            done.unchanged += 1
            continue
        if not lines:  # the day's moves of this kind netted out since: nothing to post
            session.execute(delete(VoucherLine).where(VoucherLine.voucher_id == voucher.id))
            session.delete(voucher)
            done.removed += 1
            continue
        _write_lines(session, voucher, lines)
        voucher.state, voucher.error = "draft", None
        done.rebuilt += 1
    session.flush()
    sdk.audit_record(
        session,
        "vouchers.generated",
        "vouchers_day",
        None,
        {
            "day": day.isoformat(),
            "created": done.created,
            "rebuilt": done.rebuilt,
            "unchanged": done.unchanged,
            "kept": done.kept,
            "removed": done.removed,
        },
    )
    return done


def vouchers_of(
    session: Session,
    *,
    day: dt.date | None = None,
    state: str | None = None,
    ids: list[uuid.UUID] | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[Voucher], int]:
    query = select(Voucher)
    if day is not None:
        query = query.where(Voucher.day == day)
    if state:
        query = query.where(Voucher.state == state)
    if ids is not None:
        query = query.where(Voucher.id.in_(ids))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(Voucher.day.desc(), Voucher.period, Voucher.number).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query)), total


def get(session: Session, voucher_id: Any) -> Voucher:
    found = session.get(Voucher, (sdk.current().id, voucher_id))
    if found is None:
        raise sdk.NotFound(sdk.N_("No such voucher."))
    return found


def snapshot(lines: list[VoucherLine]) -> list[dict[str, str]]:
    """What a file or Kingdee received, as plain values (amounts as decimal strings)."""
    return [
        {
            "account": line.account,
            "subject_code": line.subject_code,
            "aux_code": line.aux_code,
            "debit": str(line.debit),
            "credit": str(line.credit),
        }
        for line in lines
    ]


def mark_exported(session: Session, vouchers: list[Voucher], file_format: str) -> None:
    now = sdk.utcnow()
    for voucher in vouchers:
        voucher.sent = snapshot(lines_of(session, voucher))
        voucher.exported_at = now
        if voucher.state != "pushed":
            voucher.state = "exported"
        voucher.updated_at = now
    if vouchers:
        sdk.audit_record(
            session,
            "vouchers.exported",
            "vouchers_day",
            None,
            {"format": file_format, "vouchers": [str(v.id) for v in vouchers]},
        )


def kind_label(kind: str) -> str:
    return KINDS.get(kind, KINDS["other"])[1]
