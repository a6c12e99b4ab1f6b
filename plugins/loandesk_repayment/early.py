"""Early repayment (提前还款): the quote (试算) of repaying a loan in full or in part on a day, and
the new schedule a partial repayment leaves. No database writes and no Flask: ``early_post``
posts what is quoted here. docs/repayment.md "Early repayment" says each rule in words.

The rules, in short:

* What is **due on the day** (every installment with a due date on or before it: penalty,
  fees, interest, principal still owed) is paid first, as any payment would.
* The **current period** is the first installment not yet due. Interest of the principal
  repaid early is charged **accrued to the day** (按实际占用天数计息, as Chinese lenders do),
  never for the whole period: principal × annual rate × the product's day count from the
  current period's start to the day, rounded to the cent like the schedule's interest
  (never more than that installment's interest). Fees of installments not yet due are not
  charged.
* The **early repayment fee** is the product's ``fee_percent`` of the principal repaid early,
  rounded half up to the cent.
* The loan's **credit balance** (溢缴款) counts towards what is paid.
* **Partial**: of the amount (with the credit), what is left after what is due is split into
  principal ``P``, its accrued interest and the fee, so that ``P + interest + fee`` is at most
  what is left (``P`` the largest such amount in cents; a cent or two left over stays as
  credit). The remaining principal is rescheduled from the current period's start, on the
  due dates the loan already has, with the loan's method and rounding, by
  ``finance.build_schedule``; per-installment fees stay as they were for the installments
  kept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.orm import Session

from loandesk.sdk import N_, Conflict, finance
from loandesk_repayment import loans
from loandesk_repayment.checks import refuse
from loandesk_repayment.models import PARTS, Installment, Loan

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
KINDS = ("full", "partial")
SHORTEN, LOWER = finance.Recalculation.SHORTEN_TERM, finance.Recalculation.LOWER_INSTALLMENT
# Shortening keeps the installment (or, equal principal, its principal part) and drops
# periods: methods whose installment is not built that way have only a lower installment.
SHORTENABLE = (finance.Method.EQUAL_INSTALLMENT, finance.Method.EQUAL_PRINCIPAL)


@dataclass(frozen=True)
class Option:
    """A partial repayment's new schedule under one recalculation: the installments from the
    next one due (numbered on from the early repayment's own line), and the regular
    installment before and after (principal + interest, without fees)."""

    recalculation: str
    periods_before: int
    periods_after: int
    installment_before: Decimal
    installment_after: Decimal
    interest_before: Decimal
    interest_after: Decimal
    installments: tuple[finance.Installment, ...]
    fees: tuple[Decimal, ...]  # per-installment fees, kept from the replaced installments


@dataclass(frozen=True)
class Quote:
    """What repaying early on ``on`` costs (试算). ``due`` by part: owed on installments due by
    that day; ``principal``: repaid early; ``interest``: its interest accrued in the current
    period; ``fee``: the early repayment fee; ``credit``: the credit balance used; ``total``:
    what the borrower pays now (for a partial one, the amount asked about)."""

    kind: str
    on: dt.date
    due: dict[str, Decimal]
    due_total: Decimal
    principal: Decimal
    interest: Decimal
    fee: Decimal
    credit: Decimal
    total: Decimal
    left_over: Decimal  # a partial one's cents that fit no principal: kept as credit
    remaining_principal: Decimal  # after the repayment
    current_number: int
    period_start: dt.date
    days: int  # days of interest charged in the current period
    options: tuple[Option, ...] = ()


@dataclass(frozen=True)
class Position:
    """A loan on a day: the installments due by then, and those not yet due."""

    product: finance.ProductTerms
    terms: finance.Terms
    due: list[Installment]
    future: list[Installment]

    @property
    def principal_left(self) -> Decimal:
        return sum((i.outstanding("principal") for i in self.future), ZERO)


def position(session: Session, loan: Loan, on: dt.date) -> Position:
    """``loan`` on ``on``, refused when it cannot be repaid early (409 naming why)."""
    if loan.status != "active":
        raise Conflict(
            N_("Only an active loan can be repaid early; this one is %(status)s."),
            params={"status": loan.status},
        )
    product = finance.codec.product_terms_from_dict(loan.product_terms)
    rules = product.early_repayment
    if not rules.allowed:
        raise Conflict(N_("This loan's product does not allow early repayment."))
    installments = loans.installments_of(session, loan)
    paid = sum(1 for i in installments if i.number >= 1 and i.status == "paid")
    if paid < rules.min_periods_paid:
        raise Conflict(
            N_(
                "This loan's product allows early repayment after %(periods)s installments "
                "are paid; %(paid)s are."
            ),
            params={"periods": rules.min_periods_paid, "paid": paid},
        )
    due = [i for i in installments if i.due_date <= on]
    future = [i for i in installments if i.due_date > on]
    if not future:
        raise Conflict(N_("Every installment is due by this day: post a payment instead."))
    return Position(product, finance.codec.terms_from_dict(loan.terms), due, future)


def _interest_rounder(terms: finance.Terms) -> Any:
    return finance.interest_rounder(terms.rounding.installment)


def accrued(
    terms: finance.Terms, principal: Decimal, current: Installment, on: dt.date
) -> tuple[Decimal, int]:
    """Interest of ``principal`` from the current period's start to ``on`` by the loan's
    day count, rounded as the schedule's interest, at most the installment's interest; and
    the days it runs (under 30/360, its 30E/360 days)."""
    start = current.period_start
    if on <= start:
        return ZERO, 0
    fraction = finance.year_fraction(start, on, terms.day_count)
    interest = _interest_rounder(terms)(principal * terms.annual_rate * fraction)
    days = (
        int(fraction * 360) if terms.day_count is finance.DayCount.THIRTY_360 else (on - start).days
    )
    return min(interest, current.outstanding("interest")), days


def fee_of(product: finance.ProductTerms, principal: Decimal) -> Decimal:
    return (principal * product.early_repayment.fee_percent).quantize(CENT, ROUND_HALF_UP)


def quote(
    session: Session,
    loan: Loan,
    on: dt.date,
    *,
    kind: str,
    amount: Decimal | None = None,
) -> Quote:
    """The quote of repaying ``loan`` early on ``on``: in full, or in part with ``amount``
    (what the borrower pays; with the credit balance), with the new schedule under each
    recalculation the product offers for the loan's method."""
    if kind not in KINDS:
        raise refuse("kind", N_("Choose one of the options."))
    if loan.disbursed_on is not None and on < loan.disbursed_on:
        raise refuse("repaid_on", N_("The loan was paid out later than this date."))
    where = position(session, loan, on)
    due = {p: sum((i.outstanding(p) for i in where.due), ZERO) for p in PARTS}
    due_total = sum(due.values(), ZERO)
    current, balance = where.future[0], where.principal_left
    credit = loan.credit_balance
    if kind == "full":
        interest, days = accrued(where.terms, balance, current, on)
        fee = fee_of(where.product, balance)
        gross = due_total + balance + interest + fee
        used = min(credit, gross)
        return Quote(
            kind, on, due, due_total, balance, interest, fee, used, gross - used, ZERO, ZERO,
            current.number, current.period_start, days,
        )  # fmt: skip
    if amount is None:
        raise refuse("amount", N_("Enter an amount such as 200000.00."))
    left = amount + credit - due_total
    if left <= 0:
        raise refuse(
            "amount",
            N_("The amount does not cover what is due on this day (%(due)s)."),
            due=f"{max(due_total - credit, ZERO):.2f}",
        )
    principal, interest, fee, days = _split(where, current, on, left)
    if principal <= 0:
        raise refuse(
            "amount",
            N_("The amount covers what is due on this day (%(due)s) but repays no principal."),
            due=f"{max(due_total - credit, ZERO):.2f}",
        )
    if principal >= balance:
        raise refuse(
            "amount",
            N_("This amount repays the whole loan: choose a full repayment."),
        )
    spent = due_total + principal + interest + fee
    used = min(credit, spent)
    options = tuple(
        option(where, current, balance, balance - principal, recalculation)
        for recalculation in offered(where)
    )
    return Quote(
        kind, on, due, due_total, principal, interest, fee, used, amount,
        amount + credit - spent, balance - principal, current.number, current.period_start,
        days, options,
    )  # fmt: skip


def _split(
    where: Position, current: Installment, on: dt.date, left: Decimal
) -> tuple[Decimal, Decimal, Decimal, int]:
    """The largest principal (in cents) whose accrued interest and fee fit with it in
    ``left``; a cent at a time down from the exact share, which rounding can overshoot."""
    terms, product = where.terms, where.product
    fraction = (
        finance.year_fraction(current.period_start, on, terms.day_count)
        if on > current.period_start
        else Decimal(0)
    )
    per_yuan = 1 + terms.annual_rate * fraction + product.early_repayment.fee_percent
    # rounding the interest and the fee moves each by under a cent: start a little above
    principal = min((left / per_yuan).quantize(CENT, ROUND_DOWN) + 3 * CENT, where.principal_left)
    while principal > 0:
        interest, days = accrued(terms, principal, current, on)
        fee = fee_of(product, principal)
        if principal + interest + fee <= left:
            return principal, interest, fee, days
        principal -= CENT
    return ZERO, ZERO, ZERO, 0


def offered(where: Position) -> list[str]:
    """The recalculations the product offers that the loan's method has."""
    return [
        str(r)
        for r in where.product.early_repayment.recalculations
        if r is LOWER or where.terms.method in SHORTENABLE
    ]


def check_recalculation(where: Position, recalculation: Any) -> str:
    """``recalculation`` if the product offers it for this loan (422 naming the field)."""
    if recalculation not in (str(SHORTEN), str(LOWER)):
        raise refuse("recalculation", N_("Choose shorten_term or lower_installment."))
    if recalculation not in offered(where):
        raise refuse(
            "recalculation",
            N_("This loan's product does not offer %(recalculation)s for early repayment."),
            recalculation=recalculation,
        )
    return str(recalculation)


def option(
    where: Position,
    current: Installment,
    balance: Decimal,
    remaining: Decimal,
    recalculation: str,
) -> Option:
    """The schedule of ``remaining`` after a partial repayment under ``recalculation``.

    - equal installment: *lower installment* keeps the number of periods left and builds the
      annuity of the remaining principal over them; *shorten term* keeps the installment at
      most what it was — the fewest periods whose annuity of the remaining principal does not
      exceed the old one (the old annuity of ``balance`` over the periods left, rounded).
    - equal principal: *lower installment* keeps the periods, so each principal part is
      smaller; *shorten term* takes the fewest periods whose equal part is at most the
      current installment's: ``ceil(remaining / part)``, the parts then equal over them.
    - interest-first, flat, single payment: *lower installment* only — the same periods (and
      interest-only periods still to come), interest on the remaining principal.
    """
    terms, future = where.terms, where.future
    n_left = len(future)
    periods = n_left
    if recalculation == str(SHORTEN):
        periods = _shortened(terms, current, balance, remaining, n_left)
    interest_only = terms.interest_only_periods
    if interest_only is not None:
        interest_only = max(0, min(interest_only - (current.number - 1), periods - 1))
    method = terms.method
    if method is finance.Method.INTEREST_FIRST and periods < 2:
        # one period left: interest and principal together, as its last installment was
        method, interest_only = finance.Method.EQUAL_INSTALLMENT, None
    rebuilt = dataclasses.replace(
        terms,
        principal=remaining,
        periods=periods,
        method=method,
        start_date=current.period_start,
        fees=(),
        interest_only_periods=interest_only,
        **_anchor(terms),
    )
    try:
        schedule = finance.build_schedule(rebuilt)
    except ValueError as problem:  # terms that were good for the loan stay good: a bug
        raise Conflict(
            N_("No new schedule could be built: %(problem)s"), params={"problem": str(problem)}
        ) from None
    # the new installments fall due on the dates the borrower already has
    kept = future[: len(schedule.installments)]
    rows = tuple(
        dataclasses.replace(row, period_start=old.period_start, due_date=old.due_date)
        for row, old in zip(schedule.installments, kept, strict=True)
    )
    fees = tuple(old.fees_due for old in kept)
    return Option(
        recalculation=recalculation,
        periods_before=n_left,
        periods_after=len(rows),
        installment_before=_regular(terms, balance, current, n_left),
        installment_after=rows[0].principal + rows[0].interest,
        interest_before=sum((i.outstanding("interest") for i in future), ZERO),
        interest_after=sum((r.interest for r in rows), ZERO),
        installments=rows,
        fees=fees,
    )


def _anchor(terms: finance.Terms) -> dict[str, Any]:
    """Monthly and quarterly due dates stay on the loan's day of the month (the 31st falls
    on February's last day and on the 31st again): the rebuilt schedule's first period is
    "broken" onto that day, which for a period start on that day is a whole period."""
    if terms.frequency not in (finance.Frequency.MONTHLY, finance.Frequency.QUARTERLY):
        return {"first_period": finance.FirstPeriod.FULL, "due_day": None}
    day = terms.due_day if terms.first_period is finance.FirstPeriod.BROKEN else None
    return {"first_period": finance.FirstPeriod.BROKEN, "due_day": day or terms.start_date.day}


def _nominal(terms: finance.Terms) -> Decimal:
    per_year = {
        finance.Frequency.MONTHLY: 12,
        finance.Frequency.QUARTERLY: 4,
        finance.Frequency.SEMIMONTHLY: 24,
        finance.Frequency.BIWEEKLY: 26,
        finance.Frequency.WEEKLY: 52,
    }.get(terms.frequency, 1)
    return terms.annual_rate / per_year


def _regular(terms: finance.Terms, balance: Decimal, current: Installment, n: int) -> Decimal:
    if terms.method is finance.Method.EQUAL_INSTALLMENT:
        return _round_installment(terms, finance.annuity_payment(balance, _nominal(terms), n))
    return current.principal_due + current.interest_due


def _round_installment(terms: finance.Terms, amount: Decimal) -> Decimal:
    mode = terms.rounding.installment
    if mode is finance.InstallmentRounding.YUAN:
        return amount.quantize(Decimal(1), ROUND_HALF_UP)
    if mode is finance.InstallmentRounding.CENT_UP:
        return amount.quantize(CENT, ROUND_CEILING)
    if mode is finance.InstallmentRounding.CENT_HALF_EVEN:
        return amount.quantize(CENT, ROUND_HALF_EVEN)
    return amount.quantize(CENT, ROUND_HALF_UP)


def _shortened(
    terms: finance.Terms, current: Installment, balance: Decimal, remaining: Decimal, n: int
) -> int:
    if terms.method is finance.Method.EQUAL_PRINCIPAL:
        part = current.principal_due if n > 1 else balance
        whole = (remaining / part).to_integral_value(ROUND_CEILING)
        return max(1, min(n, int(whole)))
    old = _regular(terms, balance, current, n)
    rate = _nominal(terms)
    for periods in range(1, n + 1):
        if _round_installment(terms, finance.annuity_payment(remaining, rate, periods)) <= old:
            return periods
    return n
