"""The statements of close of business (cob.py): each works on one chunk of loans at once, in
SQL, on PostgreSQL and SQLite alike. Amounts are integer 分 here (the ``Money`` columns'
storage), so every expression is an exact integer; ``n()`` reads a Money column as such.

Penalty interest of an installment (docs/repayment.md, "Close of business"): its overdue days
after the grace days, each charged on the base (overdue principal, or principal + interest)
that close of business saw. Days with one base form a segment, charged as
``round_half_up(base × rate × days / year)`` for the whole segment, so a segment's rounding
is one rounding however many days it has (no drift) and catching up days in one run charges
what a run each day would. When the base changes (a payment), the segment is frozen
(``penalty_frozen``) and a new one starts. Each run posts the difference to ``penalty_due``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    String,
    Uuid,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.schema import Table

from loandesk import sdk
from loandesk.sdk import finance
from loandesk_repayment import cob_settings, ledger
from loandesk_repayment.cob_models import CobRun
from loandesk_repayment.cob_settings import Bucket
from loandesk_repayment.models import PARTS, Installment, LedgerEntry, Loan, LoanFunder


def cast_table(model: Any) -> Table:
    table: Table = model.__table__
    return table


L = cast_table(Loan)
I = cast_table(Installment)  # noqa: E741
R = cast_table(CobRun)
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class PenaltyRule:
    """A product version's penalty as the SQL needs it: the daily rate as a fraction of two
    integers (``annual_rate / year days``, 360 or 365 by the product's day count)."""

    numerator: int
    denominator: int
    with_interest: bool  # base: principal + interest, else principal
    grace_days: int


@dataclass(frozen=True)
class ChunkLoan:
    id: uuid.UUID
    product_id: uuid.UUID
    product_version: int
    bucket: str
    credit_balance: Decimal  # the borrower's credit (溢缴款), yuan


@dataclass
class Outcome:
    due_installments: list[object] = field(default_factory=list)  # ids
    overdue_installments: list[object] = field(default_factory=list)
    bucket_changes: dict[tuple[str, str], list[uuid.UUID]] = field(default_factory=dict)
    penalty_by_loan: dict[uuid.UUID, Decimal] = field(default_factory=dict)
    in_arrears: list[uuid.UUID] = field(default_factory=list)  # DPD > 0 after the chunk


# a product version's terms never change once published: read once per process
_TERMS: dict[tuple[uuid.UUID, uuid.UUID, int], finance.ProductTerms] = {}


def _terms(session: Session, product_id: uuid.UUID, version: int) -> finance.ProductTerms:
    key = (sdk.current().id, product_id, version)
    if key not in _TERMS:
        if len(_TERMS) > 10_000:
            _TERMS.clear()
        terms = session.scalar(
            select(L.c.product_terms)
            .where(
                L.c.tenant_id == sdk.current().id,
                L.c.product_id == product_id,
                L.c.product_version == version,
            )
            .limit(1)
        )
        _TERMS[key] = finance.codec.product_terms_from_dict(dict(terms or {}))
    return _TERMS[key]


def penalty_rule(session: Session, product_id: uuid.UUID, version: int) -> PenaltyRule | None:
    """The penalty of the product version the loans of a chunk were made on (None: none)."""
    return rule_of(_terms(session, product_id, version))


def allocation_order(session: Session, product_id: uuid.UUID, version: int) -> list[str]:
    """The parts in the product version's allocation order, the ones it leaves out last
    (as ``payments.allocate_due``)."""
    named = [str(p) for p in _terms(session, product_id, version).allocation_order]
    return named + [p for p in PARTS if p not in named]


def rule_of(product: finance.ProductTerms) -> PenaltyRule | None:
    penalty = product.penalty
    if penalty is None or penalty.annual_rate <= 0:
        return None
    year = 365 if product.day_count == finance.DayCount.ACTUAL_365 else 360
    daily = Fraction(penalty.annual_rate) / year
    return PenaltyRule(
        daily.numerator,
        daily.denominator,
        penalty.base == finance.PenaltyBase.OVERDUE_PRINCIPAL_AND_INTEREST,
        penalty.grace_days,
    )


def n(column: Any) -> ColumnElement[int]:
    """A Money column as the integer 分 it stores."""
    return type_coerce(column, BigInteger)


def _int(value: int) -> ColumnElement[int]:
    return literal(value, BigInteger)


def _in_force() -> ColumnElement[bool]:
    """Not superseded, written ``NOT superseded`` on PostgreSQL so that the partial index of
    a loan's installments in force (``ix_repayment_installments_loan``) serves the chunk."""
    return ~I.c.superseded


def _outstanding(part: str) -> ColumnElement[int]:
    return n(I.c[f"{part}_due"]) - n(I.c[f"{part}_paid"])


def _owed() -> ColumnElement[int]:
    total = _outstanding(PARTS[0])
    for part in PARTS[1:]:
        total = total + _outstanding(part)
    return total


def _days_since_due(session: Session, day: dt.date) -> ColumnElement[int]:
    if _dialect(session) == "postgresql":
        return type_coerce(literal(day, Date) - I.c.due_date, Integer)
    return cast(
        func.julianday(literal(day.isoformat(), String)) - func.julianday(I.c.due_date), Integer
    )


def _day_after_due(session: Session) -> ColumnElement[Any]:
    if _dialect(session) == "postgresql":
        return I.c.due_date + literal(1, Integer)
    return func.date(I.c.due_date, "+1 day")


def _charge(base: ColumnElement[int], days: ColumnElement[int], rule: PenaltyRule) -> Any:
    """``round_half_up(base × rate × days)`` in 分: (2·b·num·k + den) // (2·den)."""
    return (_int(2 * rule.numerator) * base * days + _int(rule.denominator)) // _int(
        2 * rule.denominator
    )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _among(session: Session, column: Any, ids: list[uuid.UUID]) -> ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL ``= ANY(array)``, one parameter rather than 500
    (their rendering cost more than the statements' own work)."""
    if _dialect(session) == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Uuid())))
    return column.in_(ids)


def set_lock_timeout(session: Session) -> None:
    """PostgreSQL: a chunk waits at most a few seconds for a loan's lock (a payment holds it
    for milliseconds), then rolls back and tries again rather than stall the run."""
    if _dialect(session) == "postgresql":
        session.execute(
            text(
                "select set_config('lock_timeout', '5s', true),"
                " set_config('plan_cache_mode', 'force_custom_plan', true)"
            )
        )


def _before(day: dt.date) -> Any:
    return or_(L.c.cob_date.is_(None), L.c.cob_date < day)


def _with_work(day: dt.date, current: str) -> Any:
    """The loans close of business has work on for ``day``: an installment in force not
    paid and due on or before it (falling due, overdue, credit to apply), one whose stored
    DPD is not 0 yet (paid since: its DPD goes back to 0, its penalty segment is frozen),
    or a loan whose stored DPD or overdue amount is not 0 or whose bucket is not ``current``
    (the first of the setting). Found through the partial indexes
    of rp009 (their predicates are written as literals so that a generic plan uses them too),
    not by reading every loan: on most days most loans have nothing to do."""
    tenant = sdk.current().id
    zero: ColumnElement[int] = literal_column("0")
    unpaid = select(I.c.loan_id).where(
        I.c.tenant_id == tenant,
        _in_force(),
        I.c.status != literal_column("'paid'"),
        I.c.due_date <= literal(day, Date),
    )
    seen_late = select(I.c.loan_id).where(
        I.c.tenant_id == tenant, _in_force(), I.c.days_past_due != zero
    )
    other = L.alias("arrears")
    in_arrears = select(other.c.id).where(
        other.c.tenant_id == tenant,
        or_(other.c.days_past_due != zero, type_coerce(other.c.overdue_amount, BigInteger) != zero),
    )
    # a bucket other than the current one (the setting changed): two ranges of an index
    moved = L.alias("moved")
    in_other_bucket = select(moved.c.id).where(
        moved.c.tenant_id == tenant, or_(moved.c.bucket < current, moved.c.bucket > current)
    )
    return L.c.id.in_(union(unpaid, seen_late, in_arrears, in_other_bucket))


def _due_for(day: dt.date, current: str) -> Any:
    return and_(
        L.c.tenant_id == sdk.current().id,
        L.c.status == "active",
        _before(day),
        _with_work(day, current),
    )


def count_due(session: Session, day: dt.date, buckets: list[Bucket] | None = None) -> int:
    """How many active loans close of business for ``day`` has still to take (those with
    work on the date, ``_with_work``)."""
    current = (buckets or cob_settings.buckets())[0].name
    query = select(func.count()).select_from(L).where(_due_for(day, current))
    return int(session.scalar(query) or 0)


def lock_chunk(
    session: Session, day: dt.date, after: uuid.UUID | None, size: int, current: str
) -> list[ChunkLoan]:
    """The next ``size`` loans by id still before ``day``, locked for the transaction as
    ``loans.lock`` locks one (SQLite: its one write lock, taken by bumping the versions)."""
    query = select(
        L.c.id, L.c.product_id, L.c.product_version, L.c.bucket, L.c.credit_balance
    ).where(_due_for(day, current))
    if after is not None:
        query = query.where(L.c.id > after)
    query = query.order_by(L.c.id).limit(size)
    if _dialect(session) == "sqlite":
        first = session.execute(query).all()
        if first:
            session.execute(
                update(L)
                .where(L.c.tenant_id == sdk.current().id, L.c.id.in_([r.id for r in first]))
                .values(version=L.c.version + 1)
            )
        rows = first
    else:
        rows = session.execute(query.with_for_update(of=L)).all()
    return [
        ChunkLoan(r.id, r.product_id, r.product_version, r.bucket, r.credit_balance) for r in rows
    ]


def apply(
    session: Session,
    day: dt.date,
    loans: list[ChunkLoan],
    rules: dict[tuple[uuid.UUID, int], PenaltyRule | None],
    buckets: list[Bucket],
) -> Outcome:
    """Bring the locked ``loans`` to ``day``: installments, penalty, loans, ledger."""
    tenant = sdk.current().id
    ids = [loan.id for loan in loans]
    outcome = Outcome()
    in_chunk = and_(I.c.tenant_id == tenant, _among(session, I.c.loan_id, ids), _in_force())
    unpaid = _owed() > 0
    yesterday = day - dt.timedelta(days=1)
    overdue = I.c.due_date < literal(day, Date)
    # installment.due: due after the day the loan's arrears were last brought to, or the
    # tenant's business date if later (a loan without work is not taken), D only when neither
    done = (
        select(func.max(R.c.business_date))
        .where(R.c.tenant_id == tenant, R.c.state == "done")
        .scalar_subquery()
    )
    since = case(
        (L.c.cob_date.is_(None), func.coalesce(done, literal(yesterday, Date))),
        (L.c.cob_date < done, done),
        else_=L.c.cob_date,
    )
    falls_due = I.c.due_date > since
    newly_overdue = and_(overdue, I.c.overdue_since.is_(None))
    # the installments falling due and those newly overdue, in one statement
    for row in session.execute(
        select(
            I.c.id,
            case((falls_due, 1), else_=0).label("falls_due"),
            case((newly_overdue, 1), else_=0).label("newly_overdue"),
        )
        .join(L, and_(L.c.tenant_id == I.c.tenant_id, L.c.id == I.c.loan_id))
        .where(in_chunk, unpaid, I.c.due_date <= day, or_(falls_due, newly_overdue))
        .order_by(I.c.id)
    ):
        if row.falls_due:
            outcome.due_installments.append(row.id)
        if row.newly_overdue:
            outcome.overdue_installments.append(row.id)
    groups: dict[tuple[uuid.UUID, int], list[uuid.UUID]] = defaultdict(list)
    for loan in loans:
        groups[(loan.product_id, loan.product_version)].append(loan.id)
    days = _days_since_due(session, day)
    penalty: dict[uuid.UUID, int] = defaultdict(int)
    for key, group in groups.items():
        touched = and_(
            I.c.tenant_id == tenant,
            _among(session, I.c.loan_id, group),
            _in_force(),
            overdue,
            or_(unpaid, I.c.days_past_due != 0),
        )
        values = {
            "days_past_due": case((unpaid, days), else_=0),
            "overdue_since": case(
                (and_(unpaid, I.c.overdue_since.is_(None)), _day_after_due(session)),
                else_=I.c.overdue_since,
            ),
        }
        rule = rules.get(key)
        if rule is not None:
            accrual, delta = _penalty_values(days, rule)
            values.update(accrual)
            if _dialect(session) == "postgresql":
                # one statement: the UPDATE returns what it added, read from the rows before
                before = select(I.c.id.label("id"), delta.label("delta")).where(touched).subquery()
                for loan_id, added in session.execute(
                    update(I)
                    .where(I.c.tenant_id == tenant, I.c.id == before.c.id)
                    .values(**values)
                    .returning(I.c.loan_id, before.c.delta)
                ):
                    penalty[loan_id] += int(added or 0)
                continue
            # what the UPDATE below adds to each loan's penalty_due, read before it
            for loan_id, added in session.execute(
                select(I.c.loan_id, func.sum(delta)).where(touched).group_by(I.c.loan_id)
            ):
                penalty[loan_id] += int(added or 0)
        session.execute(update(I).where(touched).values(**values))
    outcome.penalty_by_loan = {
        loan_id: Decimal(added) * CENTS for loan_id, added in penalty.items() if added
    }
    _book_penalties(session, day, outcome.penalty_by_loan)
    old = {loan.id: loan.bucket for loan in loans}
    for loan_id, bucket, dpd in _update_loans(session, day, ids, buckets):
        if old[loan_id] != bucket:
            outcome.bucket_changes.setdefault((old[loan_id], bucket), []).append(loan_id)
        if dpd:
            outcome.in_arrears.append(loan_id)
    return outcome


def _penalty_values(
    days: ColumnElement[int], rule: PenaltyRule
) -> tuple[dict[str, Any], ColumnElement[int]]:
    """The accrual's new column values, and what it adds to ``penalty_due``."""
    base = _outstanding("principal")
    if rule.with_interest:
        base = base + _outstanding("interest")
    target = days - _int(rule.grace_days)
    counted = I.c.penalty_days
    new_days = case((and_(base > 0, target > counted), target - counted), else_=0)
    old_base, segment, frozen = n(I.c.penalty_base), I.c.penalty_segment_days, n(I.c.penalty_frozen)
    changed = base != old_base
    old_charge = _charge(old_base, segment, rule)
    delta = case(
        (changed, _charge(base, new_days, rule)),
        else_=_charge(old_base, segment + new_days, rule) - old_charge,
    )
    return {
        "penalty_frozen": case((changed, frozen + old_charge), else_=frozen),
        "penalty_base": base,
        "penalty_segment_days": case((changed, new_days), else_=segment + new_days),
        "penalty_days": counted + new_days,
        "penalty_due": n(I.c.penalty_due) + delta,
    }, delta


def _book_penalties(session: Session, day: dt.date, amounts: dict[uuid.UUID, Decimal]) -> None:
    """Receivable penalty against penalty income, split by funder share exactly as
    ``ledger.Book`` splits (``ledger.split``): the lines go in one multi-row INSERT."""
    if not amounts:
        return
    tenant = sdk.current().id
    shares: dict[uuid.UUID, list[ledger.Share]] = defaultdict(list)
    for row in session.execute(
        select(LoanFunder.__table__.c.loan_id, LoanFunder.__table__.c.funder_id,
               LoanFunder.__table__.c.share)
        .where(LoanFunder.__table__.c.tenant_id == tenant,
               _among(session, LoanFunder.__table__.c.loan_id, list(amounts)))
        .order_by(LoanFunder.__table__.c.loan_id, LoanFunder.__table__.c.funder_id)
    ):  # fmt: skip
        shares[row.loan_id].append(ledger.Share(row.funder_id, row.share))
    now = sdk.utcnow()
    lines = []
    for loan_id, amount in amounts.items():
        for funder_id, part in ledger.split(amount, shares[loan_id]):
            if part == 0:
                continue
            for account, debit in (("receivable_penalty", True), ("penalty_income", False)):
                # a negative delta (never expected: charges only grow) would go to the other side
                size, on_debit = abs(part), debit == (part > 0)
                lines.append(
                    {
                        "tenant_id": tenant,
                        "id": sdk.uuid7(),
                        "loan_id": loan_id,
                        "account": account,
                        "debit": size if on_debit else Decimal("0.00"),
                        "credit": Decimal("0.00") if on_debit else size,
                        "funder_id": funder_id,
                        "event": "penalty",
                        "payment_id": None,
                        "booked_on": day,
                        "created_at": now,
                    }
                )
    session.execute(insert(cast_table(LedgerEntry)), lines)


def _update_loans(
    session: Session, day: dt.date, ids: list[uuid.UUID], buckets: list[Bucket]
) -> list[tuple[uuid.UUID, str, int]]:
    """Each loan's DPD (its oldest unpaid installment's), bucket and overdue amounts, its
    ``cob_date`` set to ``day``; (loan, bucket, DPD) of each."""
    tenant = sdk.current().id
    overdue = I.c.due_date < literal(day, Date)
    agg = (
        select(
            I.c.loan_id.label("loan_id"),
            # a paid installment keeps its DPD until close of business sees it paid
            func.max(case((and_(overdue, _owed() > 0), I.c.days_past_due), else_=0)).label("dpd"),
            func.sum(case((overdue, _outstanding("principal")), else_=0)).label("principal"),
            func.sum(case((overdue, _owed()), else_=0)).label("owed"),
        )
        .where(I.c.tenant_id == tenant, _among(session, I.c.loan_id, ids), _in_force())
        .group_by(I.c.loan_id)
        .subquery()
    )
    dpd = func.coalesce(agg.c.dpd, 0)
    bucket = case(
        *[(dpd <= b.highest, b.name) for b in buckets[:-1] if b.highest is not None],
        else_=buckets[-1].name,
    )
    rows = session.execute(
        update(L)
        .where(L.c.tenant_id == tenant, _among(session, L.c.id, ids), L.c.id == agg.c.loan_id)
        .values(
            days_past_due=dpd,
            bucket=bucket,
            overdue_principal=type_coerce(func.coalesce(agg.c.principal, 0), BigInteger),
            overdue_amount=type_coerce(func.coalesce(agg.c.owed, 0), BigInteger),
            cob_date=day,
            version=L.c.version + (1 if _dialect(session) == "postgresql" else 0),
        )
        .returning(L.c.id, L.c.bucket, L.c.days_past_due)
    ).all()
    if len(rows) < len(ids):  # a loan without installments in force: nothing owed
        session.execute(
            update(L)
            .where(L.c.tenant_id == tenant, _among(session, L.c.id, ids), _before(day))
            .values(days_past_due=0, bucket=buckets[0].name, cob_date=day)
        )
    return [(r.id, r.bucket, int(r.days_past_due or 0)) for r in rows]


def positions(
    session: Session,
    day: dt.date,
    ids: list[uuid.UUID],
    previous: dict[uuid.UUID, str],
    cause: str,
) -> list[sdk.LoanPosition]:
    """The arrears of the loans ``ids`` as their row now holds them (``loandesk.lending.
    LoanPosition``), with the bucket each had before (``previous``), for
    ``loandesk_loan_positions``: one statement over the loans and their installments."""
    if not ids:
        return []
    tenant = sdk.current().id
    left = (
        select(
            I.c.loan_id.label("loan_id"),
            func.sum(_outstanding("principal")).label("principal"),
            func.max(I.c.product_code).label("product_code"),
        )
        .where(I.c.tenant_id == tenant, _among(session, I.c.loan_id, ids), _in_force())
        .group_by(I.c.loan_id)
        .subquery()
    )
    rows = session.execute(
        select(
            L.c.id,
            L.c.number,
            L.c.customer_id,
            L.c.owner_id,
            L.c.org_unit_id,
            L.c.status,
            L.c.days_past_due,
            L.c.bucket,
            n(L.c.overdue_principal).label("overdue_principal"),
            n(L.c.overdue_amount).label("overdue_amount"),
            left.c.principal,
            left.c.product_code,
        )
        .outerjoin(left, left.c.loan_id == L.c.id)
        .where(L.c.tenant_id == tenant, _among(session, L.c.id, ids))
        .order_by(L.c.id)
    ).all()
    return [
        sdk.LoanPosition(
            id=r.id,
            number=r.number,
            customer_id=r.customer_id,
            product_code=r.product_code or "",
            owner_id=r.owner_id,
            org_unit_id=r.org_unit_id,
            status=r.status,
            business_date=day,
            days_past_due=int(r.days_past_due or 0),
            bucket=r.bucket,
            previous_bucket=previous.get(r.id, r.bucket),
            overdue_principal=Decimal(int(r.overdue_principal or 0)) * CENTS,
            overdue_amount=Decimal(int(r.overdue_amount or 0)) * CENTS,
            principal_outstanding=Decimal(int(r.principal or 0)) * CENTS,
            cause=cause,
        )
        for r in rows
    ]


def arrears_date(session: Session, cob_date: dt.date | None) -> dt.date | None:
    """The date a payment or a reversal restates a loan's arrears at: the later of the
    loan's ``cob_date`` (the last date close of business brought its arrears to) and the
    tenant's business date (the latest run done: a loan without work is not taken, its
    arrears were 0 then). None: close of business has never taken the loan."""
    if cob_date is None:
        return None
    done = session.scalar(
        select(func.max(R.c.business_date)).where(
            R.c.tenant_id == sdk.current().id, R.c.state == "done"
        )
    )
    return max(cob_date, done) if done is not None else cob_date


def refresh(
    session: Session, loan_id: uuid.UUID, day: dt.date, buckets: list[Bucket]
) -> tuple[str, str]:
    """After a payment or a reversal on a loan close of business has brought to ``day``
    (its ``cob_date``): its installments' and its own DPD, bucket and overdue amounts as of
    that day, at once rather than at the next close of business. Penalty, ``overdue_since``
    and the DPD of installments now paid are left to it: it freezes their penalty segment
    when it sees them paid. The loan is locked by the caller. (bucket before, bucket after)."""
    tenant = sdk.current().id
    before = session.scalar(select(L.c.bucket).where(L.c.tenant_id == tenant, L.c.id == loan_id))
    session.execute(
        update(I)
        .where(
            I.c.tenant_id == tenant,
            I.c.loan_id == loan_id,
            _in_force(),
            I.c.due_date < literal(day, Date),
            _owed() > 0,
        )
        .values(days_past_due=_days_since_due(session, day))
    )
    after = {loan: bucket for loan, bucket, _ in _update_loans(session, day, [loan_id], buckets)}
    return str(before), after.get(loan_id, buckets[0].name)
