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
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import partial
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Integer,
    Uuid,
    and_,
    any_,
    bindparam,
    case,
    cast,
    column,
    func,
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
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.schema import Table

from loandesk import sdk
from loandesk.sdk import finance
from loandesk_repayment import cob_settings
from loandesk_repayment.cob_models import CobRun
from loandesk_repayment.cob_settings import Bucket
from loandesk_repayment.models import PARTS, Installment, Loan


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


# The chunk's statements are built once per process and shape (dialect, penalty base, the
# tenant's buckets) with named bind parameters, and executed with their values: building
# and hashing a statement of this size cost more Python than the database spent on it.
# Their parameters: ``tenant``, ``day``, ``yesterday``, ``ids`` (the chunk's or a product
# group's loans), ``after`` (the checkpoint), and a penalty rule's ``num2``, ``den``,
# ``den2``, ``grace``.
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _statement(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = build()
    return found


def _p(name: str, type_: Any) -> Any:
    return bindparam(name, type_=type_)


def _tenant(column: Any) -> ColumnElement[bool]:
    return column == _p("tenant", Uuid())


def _day() -> Any:
    return _p("day", Date())


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


def _days_since_due(dialect: str) -> ColumnElement[int]:
    """Days from an installment's due date to the ``day`` parameter."""
    if dialect == "postgresql":
        return type_coerce(_day() - I.c.due_date, Integer)
    return cast(func.julianday(_day()) - func.julianday(I.c.due_date), Integer)


def _day_after_due(dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return I.c.due_date + literal_column("1")
    return func.date(I.c.due_date, "+1 day")


@dataclass(frozen=True)
class _Terms:
    """A penalty rule as the SQL reads it: bind parameters (the rule of one product group),
    or the columns of the chunk's rules unnested (each loan its own, PostgreSQL)."""

    num2: Any  # 2 × the daily rate's numerator
    den: Any  # its denominator
    den2: Any  # 2 × den
    grace: Any
    with_interest: Any  # a Python bool (one group), or a boolean column


def _group_terms(with_interest: bool) -> _Terms:
    return _Terms(
        _p("num2", BigInteger()),
        _p("den", BigInteger()),
        _p("den2", BigInteger()),
        _p("grace", BigInteger()),
        with_interest,
    )


def _charge(base: ColumnElement[int], days: ColumnElement[int], terms: _Terms) -> Any:
    """``round_half_up(base × rate × days)`` in 分: (2·b·num·k + den) // (2·den)."""
    return (terms.num2 * base * days + terms.den) // terms.den2


def _rule_params(rule: PenaltyRule) -> dict[str, int]:
    return {
        "num2": 2 * rule.numerator,
        "den": rule.denominator,
        "den2": 2 * rule.denominator,
        "grace": rule.grace_days,
    }


def _run(session: Session) -> Connection:
    """The session's connection, on which the chunk's statements run: they are Core
    statements that name the tenant themselves (and row-level security holds), so the ORM's
    per-execute work (the tenant's loader criteria, autoflush) would only cost time."""
    return session.connection()


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _among(session: Session, column: Any, ids: list[uuid.UUID]) -> ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL ``= ANY(array)``, one parameter rather than 500
    (their rendering cost more than the statements' own work)."""
    if _dialect(session) == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Uuid())))
    return column.in_(ids)


def _among_ids(dialect: str, column: Any) -> ColumnElement[bool]:
    """``column IN`` the ``ids`` parameter (PostgreSQL: ``= ANY(array)``, one parameter)."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", type_=ARRAY(Uuid())))
    return column.in_(bindparam("ids", expanding=True))


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


def _before() -> Any:
    return or_(L.c.cob_date.is_(None), L.c.cob_date < _day())


def _with_work(current: str) -> Any:
    """The loans close of business has work on for the ``day`` parameter: an installment in
    force not paid and due on or before it (falling due, overdue, credit to apply), one whose
    stored DPD is not 0 yet (paid since: its DPD goes back to 0, its penalty segment is
    frozen), or a loan whose stored DPD or overdue amount is not 0 or whose bucket is not
    ``current`` (the first of the setting). Found through the partial indexes of rp009 (their
    predicates are written as literals so that a generic plan uses them too), not by reading
    every loan: on most days most loans have nothing to do."""
    zero: ColumnElement[int] = literal_column("0")
    unpaid = select(I.c.loan_id).where(
        _tenant(I.c.tenant_id),
        _in_force(),
        I.c.status != literal_column("'paid'"),
        I.c.due_date <= _day(),
    )
    seen_late = select(I.c.loan_id).where(
        _tenant(I.c.tenant_id), _in_force(), I.c.days_past_due != zero
    )
    other = L.alias("arrears")
    in_arrears = select(other.c.id).where(
        _tenant(other.c.tenant_id),
        or_(other.c.days_past_due != zero, type_coerce(other.c.overdue_amount, BigInteger) != zero),
    )
    # a bucket other than the current one (the setting changed): two ranges of an index
    moved = L.alias("moved")
    in_other_bucket = select(moved.c.id).where(
        _tenant(moved.c.tenant_id),
        or_(moved.c.bucket < literal(current), moved.c.bucket > literal(current)),
    )
    return L.c.id.in_(union(unpaid, seen_late, in_arrears, in_other_bucket))


def _due_for(current: str) -> Any:
    return and_(_tenant(L.c.tenant_id), L.c.status == "active", _before(), _with_work(current))


def count_due(session: Session, day: dt.date, buckets: list[Bucket] | None = None) -> int:
    """How many active loans close of business for ``day`` has still to take (those with
    work on the date, ``_with_work``)."""
    current = (buckets or cob_settings.buckets())[0].name
    query = _statement(
        ("count", current), lambda: select(func.count()).select_from(L).where(_due_for(current))
    )
    return int(_run(session).scalar(query, {"tenant": sdk.current().id, "day": day}) or 0)


def lock_chunk(
    session: Session, day: dt.date, after: uuid.UUID | None, size: int, current: str
) -> list[ChunkLoan]:
    """The next ``size`` loans by id still before ``day``, locked for the transaction as
    ``loans.lock`` locks one (SQLite: its one write lock, taken by bumping the versions)."""
    dialect = _dialect(session)

    def build() -> Any:
        query = select(
            L.c.id, L.c.product_id, L.c.product_version, L.c.bucket, L.c.credit_balance
        ).where(_due_for(current))
        if after is not None:
            query = query.where(L.c.id > _p("after", Uuid()))
        query = query.order_by(L.c.id).limit(size)
        return query.with_for_update(of=L) if dialect == "postgresql" else query

    query = _statement(("lock", dialect, after is None, size, current), build)
    params = {"tenant": sdk.current().id, "day": day, "after": after}
    rows = _run(session).execute(query, params).all()
    if dialect == "sqlite" and rows:
        _run(session).execute(
            update(L)
            .where(L.c.tenant_id == sdk.current().id, L.c.id.in_([r.id for r in rows]))
            .values(version=L.c.version + 1)
        )
    return [
        ChunkLoan(r.id, r.product_id, r.product_version, r.bucket, r.credit_balance) for r in rows
    ]


def _falling_due(dialect: str) -> Any:
    """The chunk's installments falling due (``falls_due``) and newly overdue, by id. On
    PostgreSQL also every installment the overdue UPDATE touches, with its ``penalty_due``
    before it (what it adds is the difference: ``_overdue_update``)."""
    overdue = I.c.due_date < _day()
    owed = _owed() > 0
    # installment.due: due after the day the loan's arrears were last brought to, or the
    # tenant's business date if later (a loan without work is not taken), D only when neither
    done = (
        select(func.max(R.c.business_date))
        .where(_tenant(R.c.tenant_id), R.c.state == "done")
        .scalar_subquery()
    )
    since = case(
        (L.c.cob_date.is_(None), func.coalesce(done, _p("yesterday", Date()))),
        (L.c.cob_date < done, done),
        else_=L.c.cob_date,
    )
    falls_due = and_(owed, I.c.due_date > since)
    newly_overdue = and_(owed, overdue, I.c.overdue_since.is_(None))
    wanted = or_(owed, I.c.days_past_due != 0) if dialect == "postgresql" else owed
    query = (
        select(
            I.c.id,
            case((falls_due, 1), else_=0).label("falls_due"),
            case((newly_overdue, 1), else_=0).label("newly_overdue"),
            n(I.c.penalty_due).label("penalty_due"),
        )
        .join(L, and_(L.c.tenant_id == I.c.tenant_id, L.c.id == I.c.loan_id))
        .where(
            _tenant(I.c.tenant_id),
            _among_ids(dialect, I.c.loan_id),
            _in_force(),
            wanted,
            I.c.due_date <= _day(),
        )
        .order_by(I.c.id)
    )
    return query if dialect == "postgresql" else query.where(or_(falls_due, newly_overdue))


def _overdue_update(dialect: str, with_interest: bool | None) -> tuple[Any, Any]:
    """SQLite: a product group's UPDATE of its overdue installments (DPD, ``overdue_since``,
    and with a penalty rule, ``with_interest`` not None, the accrual), and the SELECT of what
    it adds to each loan's penalty, run before it."""
    unpaid = _owed() > 0
    touched = and_(
        _tenant(I.c.tenant_id),
        _among_ids(dialect, I.c.loan_id),
        _in_force(),
        I.c.due_date < _day(),
        or_(unpaid, I.c.days_past_due != 0),
    )
    days = _days_since_due(dialect)
    values: dict[str, Any] = {
        "days_past_due": case((unpaid, days), else_=0),
        "overdue_since": case(
            (and_(unpaid, I.c.overdue_since.is_(None)), _day_after_due(dialect)),
            else_=I.c.overdue_since,
        ),
    }
    if with_interest is not None:
        accrual, delta = _penalty_values(days, _group_terms(with_interest))
        values.update(accrual)
    statement = update(I).where(touched).values(**values)
    if with_interest is None:
        return statement, None
    added = select(I.c.loan_id, func.sum(delta)).where(touched).group_by(I.c.loan_id)
    return update(I).where(touched).values(**values), added


_RULE_COLUMNS = (
    ("loan_id", Uuid()),
    ("num2", BigInteger()),
    ("den", BigInteger()),
    ("den2", BigInteger()),
    ("grace", BigInteger()),
    ("with_interest", Boolean()),
    ("charged", Boolean()),
)


def _overdue_update_all() -> Any:
    """PostgreSQL: the chunk's UPDATE of its overdue installments, every loan with its own
    penalty rule (the ``r_*`` array parameters, unnested and joined by loan; ``charged``
    false: no penalty, the accrual is left as it is). It returns, per installment, its id
    and loan, its ``penalty_due`` after it (what it added is the difference with what
    ``_falling_due`` read before it) and what the loan's arrears are summed from (DPD,
    principal and all owed, after it): an overdue installment it does not touch is paid and
    counts nothing, so the loans need no other read (``_set_loans``)."""
    rules = (
        func.unnest(*[bindparam(f"r_{name}", type_=ARRAY(t)) for name, t in _RULE_COLUMNS])
        .table_valued(*[column(name, t) for name, t in _RULE_COLUMNS])
        .render_derived(name="r")
    )
    unpaid = _owed() > 0
    days = _days_since_due("postgresql")
    terms = _Terms(rules.c.num2, rules.c.den, rules.c.den2, rules.c.grace, rules.c.with_interest)
    accrual, _ = _penalty_values(days, terms)
    values: dict[str, Any] = {
        "days_past_due": case((unpaid, days), else_=0),
        "overdue_since": case(
            (and_(unpaid, I.c.overdue_since.is_(None)), _day_after_due("postgresql")),
            else_=I.c.overdue_since,
        ),
        **{
            name: case((rules.c.charged, value), else_=I.c[name]) for name, value in accrual.items()
        },
    }
    after = (n(I.c.penalty_due), I.c.days_past_due, _outstanding("principal"), _owed())
    return (
        update(I)
        .where(
            _tenant(I.c.tenant_id),
            I.c.loan_id == rules.c.loan_id,
            _in_force(),
            I.c.due_date < _day(),
            or_(unpaid, I.c.days_past_due != 0),
        )
        .values(**values)
        .returning(I.c.id, I.c.loan_id, *after)
    )


def _rule_arrays(
    loans: list[ChunkLoan], rules: dict[tuple[uuid.UUID, int], PenaltyRule | None]
) -> dict[str, list[Any]]:
    """The ``r_*`` parameters of ``_overdue_update_all``: each loan's penalty rule."""
    arrays: dict[str, list[Any]] = {f"r_{name}": [] for name, _ in _RULE_COLUMNS}
    for loan in loans:
        rule = rules.get((loan.product_id, loan.product_version))
        values = _rule_params(rule) if rule else {"num2": 0, "den": 1, "den2": 2, "grace": 0}
        arrays["r_loan_id"].append(loan.id)
        for name in ("num2", "den", "den2", "grace"):
            arrays[f"r_{name}"].append(values[name])
        arrays["r_with_interest"].append(bool(rule and rule.with_interest))
        arrays["r_charged"].append(rule is not None)
    return arrays


@dataclass
class _Arrears:
    dpd: int = 0
    principal: int = 0  # 分
    owed: int = 0


def apply(
    session: Session,
    day: dt.date,
    loans: list[ChunkLoan],
    rules: dict[tuple[uuid.UUID, int], PenaltyRule | None],
    buckets: list[Bucket],
) -> Outcome:
    """Bring the locked ``loans`` to ``day``: installments, penalty, loans (the penalty's
    ledger lines: ``cob_ledger.book_penalties``)."""
    dialect = _dialect(session)
    params: dict[str, Any] = {
        "tenant": sdk.current().id,
        "day": day,
        "yesterday": day - dt.timedelta(days=1),
        "ids": [loan.id for loan in loans],
    }
    outcome = Outcome()
    # the installments falling due and those newly overdue, in one statement
    charged: dict[uuid.UUID, int] = {}  # PostgreSQL: penalty_due before the UPDATE
    connection = _run(session)
    due = _statement(("due", dialect), lambda: _falling_due(dialect))
    for row in connection.execute(due, params):
        if row.falls_due:
            outcome.due_installments.append(row.id)
        if row.newly_overdue:
            outcome.overdue_installments.append(row.id)
        charged[row.id] = int(row.penalty_due)
    penalty: dict[uuid.UUID, int] = defaultdict(int)
    arrears: dict[uuid.UUID, _Arrears] = defaultdict(_Arrears)
    if dialect == "postgresql":  # one UPDATE; it returns the penalty after and the arrears
        statement = _statement(("overdue-all",), _overdue_update_all)
        values = {**params, **_rule_arrays(loans, rules)}
        for row_id, loan_id, after, dpd, principal, owed in connection.execute(statement, values):
            penalty[loan_id] += int(after) - charged[row_id]
            if owed > 0:
                found = arrears[loan_id]
                found.dpd = max(found.dpd, int(dpd))
                found.principal += int(principal)
                found.owed += int(owed)
    else:  # one UPDATE per product group, what it adds read before it
        groups: dict[tuple[uuid.UUID, int], list[uuid.UUID]] = defaultdict(list)
        for loan in loans:
            groups[(loan.product_id, loan.product_version)].append(loan.id)
        for key, group in groups.items():
            rule = rules.get(key)
            shape = None if rule is None else rule.with_interest
            build = partial(_overdue_update, dialect, shape)
            statement, added = _statement(("overdue", dialect, shape), build)
            values = {**params, "ids": group, **(_rule_params(rule) if rule else {})}
            if added is not None:
                for loan_id, delta in connection.execute(added, values):
                    penalty[loan_id] += int(delta or 0)
            connection.execute(statement, values)
    outcome.penalty_by_loan = {
        loan_id: Decimal(added) * CENTS for loan_id, added in penalty.items() if added
    }
    if dialect == "postgresql":
        moved = _set_loans(session, params, arrears, buckets)
    else:
        moved = _update_loans(session, day, params["ids"], buckets)
    old = {loan.id: loan.bucket for loan in loans}
    for loan_id, bucket, dpd in moved:
        if old[loan_id] != bucket:
            outcome.bucket_changes.setdefault((old[loan_id], bucket), []).append(loan_id)
        if dpd:
            outcome.in_arrears.append(loan_id)
    return outcome


def bucket_of(dpd: int, buckets: list[Bucket]) -> str:
    """The bucket of ``dpd`` days past due (as ``_loans_update`` writes it in SQL)."""
    for bucket in buckets[:-1]:
        if bucket.highest is not None and dpd <= bucket.highest:
            return bucket.name
    return buckets[-1].name


# PostgreSQL: the chunk's loans, each with the arrears its installments' UPDATE returned, as
# arrays unnested into one UPDATE
_SET_LOANS = text(
    "update repayment_loans l set days_past_due = v.dpd, bucket = v.bucket,"
    " overdue_principal = v.principal, overdue_amount = v.owed, cob_date = cast(:day as date),"
    " version = l.version + 1"
    " from unnest(cast(:ids as uuid[]), cast(:dpds as integer[]), cast(:buckets as varchar[]),"
    " cast(:principals as bigint[]), cast(:oweds as bigint[]))"
    " as v(id, dpd, bucket, principal, owed)"
    " where l.tenant_id = cast(:tenant as uuid) and l.id = v.id"
)


def _set_loans(
    session: Session,
    params: dict[str, Any],
    arrears: dict[uuid.UUID, _Arrears],
    buckets: list[Bucket],
) -> list[tuple[uuid.UUID, str, int]]:
    """PostgreSQL: what ``_update_loans`` writes, from the arrears the installments' UPDATE
    returned rather than read again from the installments; (loan, bucket, DPD) of each."""
    ids: list[uuid.UUID] = params["ids"]
    found = [arrears.get(loan_id, _Arrears()) for loan_id in ids]
    named = [bucket_of(a.dpd, buckets) for a in found]
    _run(session).execute(
        _SET_LOANS,
        {
            "tenant": params["tenant"],
            "day": params["day"],
            "ids": ids,
            "dpds": [a.dpd for a in found],
            "buckets": named,
            "principals": [a.principal for a in found],
            "oweds": [a.owed for a in found],
        },
    )
    return [(loan_id, bucket, a.dpd) for loan_id, bucket, a in zip(ids, named, found, strict=True)]


def _penalty_values(
    days: ColumnElement[int], terms: _Terms
) -> tuple[dict[str, Any], ColumnElement[int]]:
    """The accrual's new column values, and what it adds to ``penalty_due``."""
    base = _outstanding("principal")
    if terms.with_interest is True:
        base = base + _outstanding("interest")
    elif terms.with_interest is not False:
        base = base + case((terms.with_interest, _outstanding("interest")), else_=0)
    target = days - terms.grace
    counted = I.c.penalty_days
    new_days = case((and_(base > 0, target > counted), target - counted), else_=0)
    old_base, segment, frozen = n(I.c.penalty_base), I.c.penalty_segment_days, n(I.c.penalty_frozen)
    changed = base != old_base
    old_charge = _charge(old_base, segment, terms)
    delta = case(
        (changed, _charge(base, new_days, terms)),
        else_=_charge(old_base, segment + new_days, terms) - old_charge,
    )
    return {
        "penalty_frozen": case((changed, frozen + old_charge), else_=frozen),
        "penalty_base": base,
        "penalty_segment_days": case((changed, new_days), else_=segment + new_days),
        "penalty_days": counted + new_days,
        "penalty_due": n(I.c.penalty_due) + delta,
    }, delta


def _update_loans(
    session: Session, day: dt.date, ids: list[uuid.UUID], buckets: list[Bucket]
) -> list[tuple[uuid.UUID, str, int]]:
    """Each loan's DPD (its oldest unpaid installment's), bucket and overdue amounts, its
    ``cob_date`` set to ``day``; (loan, bucket, DPD) of each."""
    dialect = _dialect(session)
    params = {"tenant": sdk.current().id, "day": day, "ids": list(ids)}
    shape = tuple(buckets)
    rows = (
        _run(session)
        .execute(
            _statement(("loans", dialect, shape), lambda: _loans_update(dialect, shape)), params
        )
        .all()
    )
    if len(rows) < len(ids):  # a loan without installments in force: nothing owed
        first = buckets[0].name
        _run(session).execute(
            _statement(
                ("no-installments", dialect, first),
                lambda: (
                    update(L)
                    .where(_tenant(L.c.tenant_id), _among_ids(dialect, L.c.id), _before())
                    .values(days_past_due=0, bucket=first, cob_date=_day())
                ),
            ),
            params,
        )
    return [(r.id, r.bucket, int(r.days_past_due or 0)) for r in rows]


def _loans_update(dialect: str, buckets: tuple[Bucket, ...]) -> Any:
    overdue = I.c.due_date < _day()
    agg = (
        select(
            I.c.loan_id.label("loan_id"),
            # a paid installment keeps its DPD until close of business sees it paid
            func.max(case((and_(overdue, _owed() > 0), I.c.days_past_due), else_=0)).label("dpd"),
            func.sum(case((overdue, _outstanding("principal")), else_=0)).label("principal"),
            func.sum(case((overdue, _owed()), else_=0)).label("owed"),
        )
        .where(_tenant(I.c.tenant_id), _among_ids(dialect, I.c.loan_id), _in_force())
        .group_by(I.c.loan_id)
        .subquery()
    )
    dpd = func.coalesce(agg.c.dpd, 0)
    bucket = case(
        *[(dpd <= b.highest, b.name) for b in buckets[:-1] if b.highest is not None],
        else_=buckets[-1].name,
    )
    return (
        update(L)
        .where(_tenant(L.c.tenant_id), _among_ids(dialect, L.c.id), L.c.id == agg.c.loan_id)
        .values(
            days_past_due=dpd,
            bucket=bucket,
            overdue_principal=type_coerce(func.coalesce(agg.c.principal, 0), BigInteger),
            overdue_amount=type_coerce(func.coalesce(agg.c.owed, 0), BigInteger),
            cob_date=_day(),
            version=L.c.version + (1 if dialect == "postgresql" else 0),
        )
        .returning(L.c.id, L.c.bucket, L.c.days_past_due)
    )
