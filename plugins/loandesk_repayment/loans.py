"""Loans: the funder catalogue, booking a loan on a product version's terms (checked against the
product's ranges and the tenant's rate cap on the IRR with fees) and activating it on the
actual disbursement date, which writes the schedule and books the receivables. No Flask."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_, Conflict, Money, NotFound, finance
from loandesk_repayment import funders as funders_mod
from loandesk_repayment import ledger
from loandesk_repayment.checks import amount_of, local_today, refuse
from loandesk_repayment.models import (
    SHARE_UNIT,
    Funder,
    Installment,
    Loan,
    LoanFunder,
    loan_copies,
)


def _check_customer(session: Session, customer_id: Any) -> uuid.UUID:
    try:
        wanted = customer_id if isinstance(customer_id, uuid.UUID) else uuid.UUID(str(customer_id))
        model: Any = sdk.record_type("customer").model
        found = session.scalar(select(model.id).where(model.id == wanted))
    except (ValueError, NotFound):
        found = None
    if found is None:
        raise refuse("customer_id", N_("No such customer."))
    return wanted


def _product(session: Session, product_id: Any, version: int | None) -> finance.ProductTerms:
    try:
        wanted = product_id if isinstance(product_id, uuid.UUID) else uuid.UUID(str(product_id))
        return sdk.product_terms(session, wanted, version)
    except (ValueError, NotFound):
        raise refuse("product_id", N_("No such product.")) from None


def _check_application(
    session: Session, application_id: Any, customer_id: uuid.UUID, principal: Decimal
) -> uuid.UUID:
    """A loan booked from an application (``sdk.application_for_loan``): one of this tenant,
    approved, of the loan's customer, for at most the approved amount, and not yet booked.
    Refusals name ``application_id`` (422; 409 when it is not approved or already has its
    loan) or ``principal`` (422)."""
    found = sdk.application_for_loan(session, application_id)
    if found is None:
        raise refuse("application_id", N_("No such application."))
    if found.status != "approved":
        raise Conflict(
            N_("Application %(number)s is %(status)s: only an approved application is booked."),
            params={"number": found.number, "status": found.status},
        )
    if found.customer_id != customer_id:
        raise refuse("application_id", N_("The application is another customer's."))
    if principal > found.amount:
        raise refuse(
            "principal",
            N_("The principal may not exceed the approved amount of %(amount)s."),
            amount=f"{found.amount:.2f}",
        )
    if _loan_of_application(session, found.id) is not None:
        raise _already_booked()
    return found.id


def _loan_of_application(session: Session, application_id: uuid.UUID) -> Loan | None:
    return session.scalar(select(Loan).where(Loan.application_id == application_id))


def _already_booked() -> Conflict:
    return Conflict(N_("A loan was already booked from this application."))


def check_terms(product: finance.ProductTerms, principal: Decimal, periods: Any) -> None:
    """``principal`` and ``periods`` inside the product's ranges (422 naming the field)."""
    if not product.min_amount <= principal <= product.max_amount:
        raise refuse(
            "principal",
            N_("Enter an amount from %(low)s to %(high)s."),
            low=f"{product.min_amount:.2f}",
            high=f"{product.max_amount:.2f}",
        )
    if isinstance(periods, bool) or not isinstance(periods, int):
        raise refuse("periods", N_("Enter a whole number."))
    if not product.min_periods <= periods <= product.max_periods:
        raise refuse(
            "periods",
            N_("Enter a number from %(low)s to %(high)s."),
            low=product.min_periods,
            high=product.max_periods,
        )


def schedule_of(terms: finance.Terms) -> finance.Schedule:
    """The schedule of ``terms``, checked against the tenant's cap on the IRR with fees."""
    try:
        schedule = finance.build_schedule(terms)
    except ValueError as problem:
        # the finance module names the term at fault ("maturity_date: ..."): the loan's own
        # inputs are refused by their name, the product's under "terms"
        named = str(problem).split(":", 1)[0]
        field = named if named in ("principal", "periods", "maturity_date") else "terms"
        raise refuse(
            field, N_("These terms make no schedule: %(problem)s"), problem=str(problem)
        ) from None
    cap = sdk.rate_cap()
    if schedule.annual_rate_irr > cap:
        raise refuse(
            "annual_rate",
            N_("The annualised rate with fees (IRR) %(rate)s is over the cap of %(cap)s."),
            rate=f"{schedule.annual_rate_irr * 100:.2f}%",
            cap=f"{cap * 100:.2f}%",
        )
    return schedule


def calendar_for(
    product: finance.ProductTerms, start: dt.date, periods: int | None = None
) -> finance.Calendar:
    """China's holidays and 调休 days when the product rolls due dates off non-working days
    (the loan's terms keep them, so its dates never move later); weekends only otherwise."""
    if product.date_roll == finance.DateRoll.NONE:
        return finance.Calendar()
    return finance.holidays.china_for(start, periods or product.max_periods, product.frequency)


def book(
    session: Session,
    *,
    customer_id: Any,
    product_id: Any,
    principal: Any,
    periods: Any,
    product_version: int | None = None,
    application_id: Any = None,
    funders: Sequence[dict[str, Any]] | None = None,
    expected_on: dt.date | None = None,
    maturity_date: dt.date | None = None,
    booked_by: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    custom: Mapping[str, Any] | None = None,
    access: sdk.RecordAccess | None = None,
    idempotency_key: str | None = None,
) -> Loan:
    """A new pending loan of a product version's terms for a customer, owned by
    ``owner_id`` (the credit officer; default: who books it), with the tenant's own fields
    ``custom`` checked by the loan form. The schedule is built once, from ``expected_on``
    (today by default), to check the rate cap; activation builds it again from the actual
    disbursement date. ``maturity_date`` is the one due date of a single-payment product.
    With ``application_id`` the loan is booked from that application (``_check_application``):
    one loan per application, which the database holds too (two bookings at once: 409)."""
    form = sdk.current_form("loan")
    clean = sdk.validate_record(
        form, dict(custom or {}), access=access, context=sdk.value_context(), writable=()
    )
    owner = owner_id or booked_by
    if owner is None:
        raise refuse("owner_id", N_("Choose an active staff member."))
    unit = sdk.unit_of(session, owner, "owner_id")
    customer = _check_customer(session, customer_id)
    product = _product(session, product_id, product_version)
    amount = amount_of(principal, "principal")
    check_terms(product, amount, periods)
    if application_id is not None:
        application_id = _check_application(session, application_id, customer, amount)
    shares = funders_mod.shares_for(session, funders)
    start = expected_on or local_today()
    terms = product.terms_for(
        amount,
        periods,
        start,
        calendar=calendar_for(product, start, periods),
        maturity_date=maturity_date,
    )
    schedule = schedule_of(terms)
    loan = Loan(
        number=_next_number(session),
        customer_id=customer,
        application_id=application_id,
        product_id=product.product_id,
        product_version=product.version,
        product_terms=finance.codec.to_dict(product),
        terms=finance.codec.to_dict(terms),
        principal=amount,
        periods=periods,
        status="pending",
        annual_rate_irr=str(schedule.annual_rate_irr),
        credit_balance=Decimal("0.00"),
        version=0,
        idempotency_key=idempotency_key,
        booked_by_id=booked_by,
        owner_id=owner,
        org_unit_id=unit,
        custom={},
    )
    sdk.store_custom(loan, form, clean.custom, sdk.keyring())
    for attempt in range(10):
        try:
            with session.begin_nested():
                session.add(loan)  # inside: the savepoint's rollback lets go of it
                session.flush()
            break
        except IntegrityError:
            if idempotency_key and find_by_key(session, idempotency_key) is not None:
                raise Conflict(N_("This Idempotency-Key was used for another request.")) from None
            if application_id and _loan_of_application(session, application_id) is not None:
                raise _already_booked() from None  # booked by another request meanwhile
            if attempt == 9:
                raise
            loan.number = _next_number(session)  # two bookings took one number at once
    for funder, share in shares:
        session.add(LoanFunder(loan_id=loan.id, funder_id=funder.id, share=share))
    session.flush()
    sdk.audit_record(session, "loan.book", "loan", loan.id, _audited(loan, shares))
    sdk.emit(session, "loan.booked", "loan", loan.id, {"principal": str(amount)})
    return loan


def activate(session: Session, loan: Loan, disbursed_on: dt.date) -> finance.Schedule:
    """Pay out a pending loan on ``disbursed_on``: its terms start that day, the schedule is
    built from them and written as installments, and the receivables are booked."""
    loan = lock(session, loan.id)
    if loan.status != "pending":
        raise Conflict(N_("Only a pending loan can be activated."))
    product = finance.codec.product_terms_from_dict(loan.product_terms)
    booked = finance.codec.terms_from_dict(loan.terms)  # the contractual maturity stays
    terms = product.terms_for(
        loan.principal,
        loan.periods,
        disbursed_on,
        calendar=calendar_for(product, disbursed_on, loan.periods),
        maturity_date=booked.maturity_date,
    )
    schedule = schedule_of(terms)
    loan.terms = finance.codec.to_dict(terms)
    loan.annual_rate_irr = str(schedule.annual_rate_irr)
    loan.status, loan.disbursed_on = "active", disbursed_on
    copies = loan_copies(loan)
    for item in schedule.installments:
        session.add(
            Installment(
                loan_id=loan.id,
                **copies,
                number=item.number,
                period_start=item.period_start,
                due_date=item.due_date,
                principal_due=item.principal,
                interest_due=item.interest,
                fees_due=item.fees,
                penalty_due=Decimal("0.00"),
                principal_paid=Decimal("0.00"),
                interest_paid=Decimal("0.00"),
                fees_paid=Decimal("0.00"),
                penalty_paid=Decimal("0.00"),
                status="pending",
            )
        )
    deducted = loan.principal - schedule.disbursed
    upfront_due = schedule.upfront_fees - deducted
    if upfront_due > 0:
        # upfront fees not deducted from the payout are due the day it is paid out: an
        # installment 0, so that payments and the ledger treat them like any other fee
        session.add(_installment_zero(loan, disbursed_on, upfront_due))
    book_ = ledger.Book(session, loan, "activation", disbursed_on)
    book_.line("receivable_principal", "funds_disbursed", schedule.disbursed)
    book_.line("receivable_principal", "fee_income", deducted)
    interest = sum((i.interest for i in schedule.installments), Decimal(0))
    fees = sum((i.fees for i in schedule.installments), upfront_due)
    book_.line("receivable_interest", "interest_income", interest)
    book_.line("receivable_fees", "fee_income", fees)
    session.flush()
    sdk.audit_record(
        session,
        "loan.activate",
        "loan",
        loan.id,
        {"status": ["pending", "active"], "disbursed_on": disbursed_on.isoformat()},
    )
    # the loans that follow arrears learn of it at once (the assets plugin's class 正常 and
    # provision count every active loan, not only those close of business has seen late)
    from loandesk_repayment import cob_positions

    sdk.loan_positions_moved(
        session, cob_positions.positions(session, disbursed_on, [loan.id], {}, "activation")
    )
    sdk.emit(
        session,
        "loan.activated",
        "loan",
        loan.id,
        {"disbursed_on": disbursed_on.isoformat(), "disbursed": str(schedule.disbursed)},
    )
    return schedule


def _installment_zero(loan: Loan, day: dt.date, fees: Decimal) -> Installment:
    zero = Decimal("0.00")
    return Installment(
        loan_id=loan.id,
        **loan_copies(loan),
        number=0,
        period_start=day,
        due_date=day,
        principal_due=zero,
        interest_due=zero,
        fees_due=fees,
        penalty_due=zero,
        principal_paid=zero,
        interest_paid=zero,
        fees_paid=zero,
        penalty_paid=zero,
        status="pending",
    )


def lock(session: Session, loan_id: uuid.UUID) -> Loan:
    """The loan, locked until the transaction ends, read fresh: every change of its money
    takes this first, so two postings to one loan follow each other. PostgreSQL locks the
    row (``FOR UPDATE``); SQLite has no row locks, so the version is bumped first, which
    takes the database's write lock before anything is read."""
    if session.get_bind().dialect.name == "sqlite":
        from sqlalchemy import update

        # the row is read fresh just below: the session need not look through every object
        # it holds for this one (its default does, so each lock cost more the more it held)
        session.execute(
            update(Loan).where(Loan.id == loan_id).values(version=Loan.version + 1),
            execution_options={"synchronize_session": False},
        )
    found = session.scalar(
        select(Loan)
        .where(Loan.id == loan_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFound(N_("No such loan."))
    if session.get_bind().dialect.name != "sqlite":
        found.version += 1
    return found


def get_loan(session: Session, loan_id: Any, access: sdk.RecordAccess | None = None) -> Loan:
    """The loan (404 when there is none, or when ``access``'s data scope does not reach it)."""
    try:
        wanted = loan_id if isinstance(loan_id, uuid.UUID) else uuid.UUID(str(loan_id))
    except ValueError:
        raise NotFound(N_("No such loan.")) from None
    found = session.scalar(select(Loan).where(Loan.id == wanted))
    if access is not None:
        checked: Loan = access.check_record(found)
        return checked
    if found is None:
        raise NotFound(N_("No such loan."))
    return found


def find_by_key(session: Session, key: str) -> Loan | None:
    return session.scalar(select(Loan).where(Loan.idempotency_key == key))


def installments_of(session: Session, loan: Loan, *, fresh: bool = False) -> list[Installment]:
    """The schedule in force: the installments an early repayment superseded are left out."""
    query = (
        select(Installment)
        .where(Installment.loan_id == loan.id, Installment.superseded.is_(False))
        .order_by(Installment.number)
    )
    if fresh:
        query = query.execution_options(populate_existing=True)
    return list(session.scalars(query))


def outstanding_principal(session: Session, customer_ids: Sequence[uuid.UUID]) -> Decimal:
    """The principal the customers still owe on their pending and active loans (a pending
    loan's whole principal: it is about to be paid out)."""
    if not customer_ids:
        return Decimal("0.00")
    pending = session.scalar(
        select(func.coalesce(func.sum(Loan.principal), 0)).where(
            Loan.customer_id.in_(customer_ids), Loan.status == "pending"
        )
    )
    active = session.scalar(
        # the difference of two Money columns loses the type: say it is still Money (分)
        select(
            type_coerce(
                func.coalesce(func.sum(Installment.principal_due - Installment.principal_paid), 0),
                Money(),
            )
        )
        .join(Loan, (Loan.id == Installment.loan_id) & (Loan.tenant_id == Installment.tenant_id))
        .where(
            Loan.customer_id.in_(customer_ids),
            Loan.status == "active",
            Installment.superseded.is_(False),
        )
    )
    return Decimal(pending or 0) + Decimal(active or 0)


def _next_number(session: Session) -> str:
    """DK + the date + a 5-digit sequence of the day (DK2026112900001)."""
    prefix = f"DK{sdk.utcnow():%Y%m%d}"
    last = session.scalar(select(func.max(Loan.number)).where(Loan.number.like(f"{prefix}%")))
    sequence = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{sequence:05d}"


def _audited(loan: Loan, shares: list[tuple[Funder, int]]) -> dict[str, Any]:
    return {
        "number": loan.number,
        "customer_id": str(loan.customer_id),
        "product_id": str(loan.product_id),
        "product_version": loan.product_version,
        "principal": str(loan.principal),
        "periods": loan.periods,
        "owner_id": str(loan.owner_id),
        "application_id": str(loan.application_id) if loan.application_id else None,
        "custom": sorted(loan.custom or {}),
        "funders": {f.code: str(Decimal(s) / SHARE_UNIT) for f, s in shares},
    }
