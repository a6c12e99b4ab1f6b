"""Repayment schedules (还款计划) from ``Terms``: every method, rounding convention, day count and
due-date rule the products offer, in ``Decimal`` throughout (docs/schedules.md says each rule
in words).

Conventions that are choices, not arithmetic:

* Interest runs over the contractual periods: from one unrolled due date to the next. A due
  date rolled off a holiday moves when the money is due, not how much interest is charged, so
  equal installments stay equal (ISDA's "unadjusted" accrual; Fineract's default when
  repayments are rescheduled around holidays).
* Equal installments under an actual day count: the installment comes from the nominal
  periodic rate (annual / periods a year), the interest of each period from its actual days,
  and the last installment takes the difference, as Apache Fineract schedules them (its
  scenarios RS03 and C3159, reproduced in tests/platform/finance/test_published_examples.py).
  A broken first period likewise keeps the regular installment and charges that period's
  interest by its actual length.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext

from loandesk.finance import dates, rates
from loandesk.finance.rounding import (
    CENT,
    ZERO,
    Rounder,
    check_terms,
    fee_amount,
    floor_to,
    installment_rounder,
    interest_rounder,
)
from loandesk.finance.terms import (
    DateRoll,
    DayCount,
    FeeKind,
    FirstPeriod,
    Frequency,
    Method,
    Remainder,
    Terms,
)

# One context for every schedule: 34 digits keep a 10-billion-yuan loan exact to 1e-20 yuan.
_CONTEXT = Context(prec=34, traps=[InvalidOperation, DivisionByZero, Overflow])


@dataclass(frozen=True)
class Installment:
    """One period's due (期供): amounts already rounded to the cent."""

    number: int  # 1-based
    period_start: dt.date  # interest runs from here (the previous contractual due date)
    due_date: dt.date  # when it is due: the contractual date rolled off non-working days
    principal: Decimal
    interest: Decimal
    fees: Decimal  # per-installment fees of this period
    total: Decimal  # principal + interest + fees
    balance: Decimal  # principal remaining after this installment
    period_end: dt.date  # interest runs to here: the contractual (unrolled) due date


@dataclass(frozen=True)
class Schedule:
    terms: Terms
    installments: tuple[Installment, ...]
    total_principal: Decimal
    total_interest: Decimal
    total_fees: Decimal  # per-installment and upfront fees
    total: Decimal  # everything the borrower pays: installments and upfront fees
    upfront_fees: Decimal  # charged at disbursement, deducted or paid then
    disbursed: Decimal  # what the borrower receives: principal minus deducted fees
    annual_rate_irr: Decimal  # 年化利率(IRR): periodic IRR x periods a year, fraction, 6 dp
    apr: Decimal  # Regulation Z Appendix J actuarial APR, fraction, 6 dp
    effective_annual_rate: Decimal  # (1 + periodic IRR) ** periods a year - 1, fraction, 6 dp


@dataclass(frozen=True)
class _Plan:
    starts: list[dt.date]  # contractual period starts
    ends: list[dt.date]  # contractual due dates
    factors: list[Decimal]  # interest of each period per yuan of balance
    nominal: Decimal  # the nominal periodic rate: annual / periods a year
    round_installment: Rounder
    step: Decimal  # what the installment rounding moves in (a cent or a yuan)
    round_interest: Rounder


Rows = list[tuple[Decimal, Decimal]]  # (principal, interest) of each installment


def build_schedule(terms: Terms) -> Schedule:
    """The schedule of ``terms``; ``ValueError("<field>: <why>")`` on terms that cannot make
    one (no periods, a negative rate, a due day of 32, ...)."""
    with localcontext(_CONTEXT):
        check_terms(terms)
        plan = _plan(terms)
        rows = _METHODS[terms.method](terms, plan)
        return _schedule(terms, plan, rows)


def _plan(terms: Terms) -> _Plan:
    ends = dates.scheduled_dates(terms)
    if terms.method is Method.SINGLE_PAYMENT:
        ends = ends[-1:]
    starts = [terms.start_date, *ends[:-1]]
    rate = terms.annual_rate
    if terms.frequency is Frequency.SINGLE or terms.method is Method.SINGLE_PAYMENT:
        nominal = rate * dates.year_fraction(starts[0], ends[0], terms.day_count)
        factors = [nominal]
    else:
        nominal = rate / dates.PERIODS_PER_YEAR[terms.frequency]
        if terms.day_count is DayCount.THIRTY_360:
            factors = [nominal] * len(ends)
            if terms.first_period is FirstPeriod.BROKEN:
                factors[0] = rate * dates.year_fraction(starts[0], ends[0], terms.day_count)
        else:
            factors = [
                rate * dates.year_fraction(s, e, terms.day_count)
                for s, e in zip(starts, ends, strict=True)
            ]
    round_installment, step = installment_rounder(terms.rounding.installment)
    return _Plan(
        starts, ends, factors, nominal, round_installment, step,
        interest_rounder(terms.rounding.installment),
    )  # fmt: skip


# --- the methods ------------------------------------------------------------------------------


def annuity_payment(principal: Decimal, rate: Decimal, periods: int) -> Decimal:
    """The exact equal installment of ``principal`` over ``periods`` at ``rate`` a period."""
    if rate == 0:
        return principal / periods
    growth = (1 + rate) ** periods
    return principal * rate * growth / (growth - 1)


def _equal_installment(terms: Terms, plan: _Plan) -> Rows:
    return _annuity(terms, plan, terms.principal, plan.factors)


def _annuity(terms: Terms, plan: _Plan, principal: Decimal, factors: list[Decimal]) -> Rows:
    """Equal installments over ``factors``' periods; the last one pays what is left."""
    n = len(factors)
    exact_payment = annuity_payment(principal, plan.nominal, n)
    payment = plan.round_installment(exact_payment)
    exact = None if terms.rounding.interest_on_rounded_balance else exact_payment

    def run(payments: list[Decimal]) -> Rows:
        return _amortise(principal, factors, payments, exact, plan.round_interest)

    rows = run([payment] * n)
    if n == 1:
        return rows
    if terms.rounding.adjust_last:
        # Move the installment by whole steps towards where the last one ends up, and keep the
        # candidate whose last installment is closest to it.
        best, best_gap = rows, abs(sum(rows[-1]) - payment)
        centre = (sum(rows[-1]) - payment) / n // plan.step
        for k in (centre - 1, centre, centre + 1):
            candidate = payment + k * plan.step
            if k == 0 or candidate <= 0:
                continue
            tried = run([candidate] * n)
            gap = abs(sum(tried[-1]) - candidate)
            if gap < best_gap:
                best, best_gap = tried, gap
        return best
    if terms.rounding.remainder is Remainder.SPREAD:
        # The last installment's difference, one step at a time over the first installments.
        steps = int((sum(rows[-1]) - payment) / plan.step)
        if steps:
            count = min(abs(steps), n - 1)
            move = plan.step if steps > 0 else -plan.step
            rows = run([payment + move] * count + [payment] * (n - count))
    return rows


def _amortise(
    principal: Decimal,
    factors: list[Decimal],
    payments: list[Decimal],
    exact_payment: Decimal | None,
    round_interest: Rounder,
) -> Rows:
    """Rows paying ``payments`` (the last pays off the rest). Interest on the balance in cents,
    or, given the ``exact_payment``, the interest of the exact amortisation (the balance the
    loan would have if nothing were rounded) rounded to the cent, as formula-based calculators
    show it."""
    rows: Rows = []
    balance = exact = principal
    last = len(factors) - 1
    for i, factor in enumerate(factors):
        if exact_payment is None:
            interest = round_interest(balance * factor)
        else:
            exact_interest = exact * factor
            interest = round_interest(exact_interest)
            exact -= exact_payment - exact_interest
        part = balance if i == last else min(max(payments[i] - interest, ZERO), balance)
        balance -= part
        rows.append((part, interest))
    return rows


def _principal_parts(terms: Terms, plan: _Plan, principal: Decimal, n: int) -> list[Decimal]:
    """``principal`` in ``n`` equal parts: the remainder in the last, or spread a step at a time
    over the first ones."""
    if terms.rounding.remainder is Remainder.LAST:
        part = plan.round_installment(principal / n)
        if part * (n - 1) <= principal:
            return [part] * (n - 1) + [principal - part * (n - 1)]
    base = floor_to(principal / n, plan.step)
    extra = int((principal - base * n) / plan.step)
    parts = [base + plan.step] * extra + [base] * (n - extra)
    parts[-1] += principal - base * n - extra * plan.step  # cents below a whole-yuan step
    return parts


def _equal_principal(terms: Terms, plan: _Plan) -> Rows:
    n, principal = len(plan.factors), terms.principal
    parts = _principal_parts(terms, plan, principal, n)
    rows: Rows = []
    balance = principal
    for i, (part, factor) in enumerate(zip(parts, plan.factors, strict=True)):
        if terms.rounding.interest_on_rounded_balance:
            interest = plan.round_interest(balance * factor)
        else:  # the exact balance: principal less i exact n-ths of it
            interest = plan.round_interest(principal * (n - i) / n * factor)
        balance -= part
        rows.append((part, interest))
    return rows


def _flat(terms: Terms, plan: _Plan) -> Rows:
    """Interest on the original principal every period (等本等息)."""
    n, principal = len(plan.factors), terms.principal
    parts = _principal_parts(terms, plan, principal, n)
    exact = [principal * f for f in plan.factors]
    total = plan.round_interest(sum(exact, ZERO))
    interests = [plan.round_interest(e) for e in exact[:-1]]
    interests.append(total - sum(interests, ZERO))
    if terms.rounding.remainder is Remainder.SPREAD or interests[-1] < 0:
        # Rounded up every period, a tiny interest could leave the last one negative.
        interests = [floor_to(e, CENT) for e in exact]
        extra = int((total - sum(interests, ZERO)) / CENT)
        interests = [x + CENT if i < extra else x for i, x in enumerate(interests)]
    return list(zip(parts, interests, strict=True))


def _interest_first(terms: Terms, plan: _Plan) -> Rows:
    """Interest only for ``interest_only_periods`` (all but the last when unset), then the
    principal amortised in equal installments over the periods left (先息后本)."""
    n, principal = len(plan.factors), terms.principal
    only = n - 1 if terms.interest_only_periods is None else terms.interest_only_periods
    rows: Rows = [(ZERO, plan.round_interest(principal * f)) for f in plan.factors[:only]]
    return rows + _annuity(terms, plan, principal, plan.factors[only:])


def _single_payment(terms: Terms, plan: _Plan) -> Rows:
    """One installment at the end: interest by the day count over the whole term."""
    return [(terms.principal, plan.round_interest(terms.principal * plan.factors[0]))]


_METHODS: dict[Method, Callable[[Terms, _Plan], Rows]] = {
    Method.EQUAL_INSTALLMENT: _equal_installment,
    Method.EQUAL_PRINCIPAL: _equal_principal,
    Method.INTEREST_FIRST: _interest_first,
    Method.FLAT: _flat,
    Method.SINGLE_PAYMENT: _single_payment,
}


# --- fees, dates and rates --------------------------------------------------------------------


def _schedule(terms: Terms, plan: _Plan, rows: Rows) -> Schedule:
    upfront = deducted = per_installment = ZERO
    for fee in terms.fees:
        amount = fee_amount(fee.basis, fee.value, terms.principal)
        if fee.kind is FeeKind.PER_INSTALLMENT:
            per_installment += amount
        else:
            upfront += amount
            deducted += amount if fee.deducted else ZERO
    installments = []
    balance = terms.principal.quantize(CENT)
    previous = terms.start_date
    for number, ((part, interest), start, end) in enumerate(
        zip(rows, plan.starts, plan.ends, strict=True), start=1
    ):
        part = part.quantize(CENT)  # whole-yuan parts and a zero show as cents too
        balance -= part
        due = dates.roll(end, terms.date_roll, terms.calendar)
        if due < previous or due <= terms.start_date:
            # Rolled back before the previous due date or onto the disbursement day. (Rolled
            # forward, a long holiday can make two installments due the same day.)
            due = dates.roll(end, DateRoll.FOLLOWING, terms.calendar)
        previous = due
        installments.append(
            Installment(
                number=number,
                period_start=start,
                due_date=due,
                principal=part,
                interest=interest,
                fees=per_installment,
                total=part + interest + per_installment,
                balance=balance,
                period_end=end,
            )
        )
    total_interest = sum((i.interest for i in installments), ZERO)
    total_fees = per_installment * len(installments) + upfront
    quoted = rates.quote(terms, installments, upfront)
    return Schedule(
        terms=terms,
        installments=tuple(installments),
        total_principal=terms.principal,
        total_interest=total_interest,
        total_fees=total_fees,
        total=terms.principal + total_interest + total_fees,
        upfront_fees=upfront,
        disbursed=terms.principal - deducted,
        annual_rate_irr=quoted.annual_rate_irr,
        apr=quoted.apr,
        effective_annual_rate=quoted.effective_annual_rate,
    )
