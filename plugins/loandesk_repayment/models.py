"""Loans (贷款) after booking: their terms, funders (资金方), installments (期供), payments (还款)
with their allocations, and the double-entry ledger (分户账). Amounts are ``Money`` (integer 分);
funder shares are integer millionths, so that no float ever holds a share."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Uuid,
    false,
    text,
    type_coerce,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from loandesk.sdk import Base, CustomValues, JSONValues, Money, TenantOwned, UTCDateTime, utcnow

# pending (booked, not paid out) → active (disbursed, schedule written) → settled (结清),
# or active → written_off (核销: off the books, later payments are recoveries)
LOAN_STATUSES = ("pending", "active", "settled", "written_off")
INSTALLMENT_STATUSES = ("pending", "partial", "paid")
PAYMENT_STATUSES = ("posted", "reversed")
PAYMENT_SOURCES = ("staff", "api", "import", "credit")
PARTS = ("penalty", "fees", "interest", "principal")
SHARE_UNIT = 1_000_000  # a funder's share in millionths: 700000 is 70%


def _in(column: str, values: tuple[str, ...]) -> str:
    return "{} in ({})".format(column, ", ".join(f"'{v}'" for v in values))


class Funder(TenantOwned, Base):
    """Who provides a loan's money (资金方): the tenant's own funds or a partner (co-lending)."""

    __tablename__ = "repayment_funders"
    __table_args__ = (
        CheckConstraint(_in("kind", ("own", "partner")), name="kind"),
        Index("ix_repayment_funders_code", "tenant_id", "code", unique=True),
    )

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10), default="partner")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Loan(TenantOwned, CustomValues, Base):
    """One loan: the product version's terms it was made on (``product_terms``, kept as they
    were) and its own schedule terms (``terms``), both as codec JSON. ``credit_balance`` is
    money received beyond what was due (溢缴款). ``version`` is bumped under the loan's lock by
    every posting, so two writers of one loan follow each other. ``owner_id`` (the credit
    officer) and ``org_unit_id`` are what data scopes read; the tenant's fields in ``custom``."""

    __tablename__ = "repayment_loans"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers_customers.tenant_id", "customers_customers.id"],
        ),
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "org_unit_id"], ["org_units.tenant_id", "org_units.id"]),
        CheckConstraint(_in("status", LOAN_STATUSES), name="status"),
        CheckConstraint("principal > 0", name="principal"),
        CheckConstraint("credit_balance >= 0", name="credit_balance"),
        Index("ix_repayment_loans_number", "tenant_id", "number", unique=True),
        Index("ix_repayment_loans_customer", "tenant_id", "customer_id"),
        Index("ix_repayment_loans_scope", "tenant_id", "org_unit_id", "owner_id"),
        Index("ix_repayment_loans_idempotency_key", "tenant_id", "idempotency_key", unique=True),
        # one loan per application: no loan is ever cancelled (LOAN_STATUSES), so every loan
        # that names an application holds it (rp005); two bookings at once meet here
        Index(
            "ix_repayment_loans_application",
            "tenant_id",
            "application_id",
            unique=True,
            sqlite_where=text("application_id IS NOT NULL"),
            postgresql_where=text("application_id IS NOT NULL"),
        ),
        Index("ix_repayment_loans_bucket", "tenant_id", "bucket"),
        # loans whose stored arrears are not 0: close of business takes them (rp009)
        Index(
            "ix_repayment_loans_arrears",
            "tenant_id",
            "id",
            sqlite_where=text("days_past_due <> 0 OR overdue_amount <> 0"),
            postgresql_where=text("days_past_due <> 0 OR overdue_amount <> 0"),
        ),
    )

    number: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    application_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    product_version: Mapped[int] = mapped_column(Integer)
    product_terms: Mapped[dict[str, Any]] = mapped_column(JSONValues)
    terms: Mapped[dict[str, Any]] = mapped_column(JSONValues)
    principal: Mapped[Decimal] = mapped_column(Money())
    periods: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    disbursed_on: Mapped[dt.date | None] = mapped_column(Date)
    settled_on: Mapped[dt.date | None] = mapped_column(Date)
    written_off_on: Mapped[dt.date | None] = mapped_column(Date)
    annual_rate_irr: Mapped[str | None] = mapped_column(String(20))  # a Decimal, as text
    credit_balance: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    version: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    # What close of business (日终, cob.py) found when it last brought the loan to
    # ``cob_date``: days past due (逾期天数), the DPD bucket (M0, M1, ...), and what of the
    # installments due before that day was still owed. Read by collections and the assets
    # plugin's five-tier class; a payment restates them at once (``cob_positions.refresh``).
    # Close of business takes only loans with work on a date (``cob_sql._with_work``), so
    # a loan without any keeps an older ``cob_date``: its arrears (0) hold at the tenant's
    # business date too.
    cob_date: Mapped[dt.date | None] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    bucket: Mapped[str] = mapped_column(String(10), default="M0", server_default=text("'M0'"))
    overdue_principal: Mapped[Decimal] = mapped_column(
        Money(), default=Decimal("0.00"), server_default=text("0")
    )
    overdue_amount: Mapped[Decimal] = mapped_column(
        Money(), default=Decimal("0.00"), server_default=text("0")
    )
    booked_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    org_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoanFunder(TenantOwned, Base):
    """A funder's share of one loan (联合贷 70/30: two rows); the shares sum to exactly one."""

    __tablename__ = "repayment_loan_funders"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "loan_id"], ["repayment_loans.tenant_id", "repayment_loans.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "funder_id"], ["repayment_funders.tenant_id", "repayment_funders.id"]
        ),
        CheckConstraint(f"share > 0 and share <= {SHARE_UNIT}", name="share"),
        Index("ix_repayment_loan_funders_loan", "tenant_id", "loan_id", "funder_id", unique=True),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    funder_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    share: Mapped[int] = mapped_column(Integer)  # millionths


class Installment(TenantOwned, CustomValues, Base):
    """One period's due (期供) and what has been paid of each part. ``status`` follows the
    amounts alone (nothing paid, some, all), so reversing a payment restores it exactly.

    The installment record type (还款计划, for automation rules: "3 days before the due
    date") reads the loan's number, borrower, credit officer, unit and product code from the
    row itself: they are copied from the loan whenever an installment is written
    (``loan_copies``), so that data scopes, conditions and the relative trigger's query need no
    join. A merged customer's installments move with the loans. ``custom`` holds a tenant's
    own fields of the record type, like every record type's."""

    __tablename__ = "repayment_installments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "loan_id"], ["repayment_loans.tenant_id", "repayment_loans.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers_customers.tenant_id", "customers_customers.id"],
        ),
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "org_unit_id"], ["org_units.tenant_id", "org_units.id"]),
        CheckConstraint(_in("status", INSTALLMENT_STATUSES), name="status"),
        CheckConstraint(
            "principal_paid between 0 and principal_due and interest_paid between 0 and "
            "interest_due and fees_paid between 0 and fees_due and penalty_paid between 0 "
            "and penalty_due",
            name="paid",
        ),
        # one installment of each number in the schedule in force; an early repayment's
        # superseded rows keep their numbers (early.py)
        Index(
            "ix_repayment_installments_loan",
            "tenant_id",
            "loan_id",
            "number",
            unique=True,
            sqlite_where=text("NOT superseded"),
            postgresql_where=text("NOT superseded"),
        ),
        Index("ix_repayment_installments_due", "tenant_id", "due_date", "status"),
        # close of business finds the loans with work on a date through these two (rp009)
        Index(
            "ix_repayment_installments_unpaid",
            "tenant_id",
            "due_date",
            "loan_id",
            sqlite_where=text("NOT superseded AND status <> 'paid'"),
            postgresql_where=text("NOT superseded AND status <> 'paid'"),
        ),
        Index(
            "ix_repayment_installments_dpd",
            "tenant_id",
            "loan_id",
            sqlite_where=text("NOT superseded AND days_past_due <> 0"),
            postgresql_where=text("NOT superseded AND days_past_due <> 0"),
        ),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    number: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    principal_due: Mapped[Decimal] = mapped_column(Money())
    interest_due: Mapped[Decimal] = mapped_column(Money())
    fees_due: Mapped[Decimal] = mapped_column(Money())
    penalty_due: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    principal_paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    interest_paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    fees_paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    penalty_paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    paid_on: Mapped[dt.date | None] = mapped_column(Date)  # when it became fully paid
    # Out of the schedule in force, replaced by an early repayment (or put back by its
    # reversal), never deleted: ``superseded_by_id`` names that early repayment, and
    # ``written_by_id`` the early repayment that wrote the row (None: the disbursement).
    superseded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    superseded_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    written_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # copied from the loan (``loan_copies``)
    loan_number: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    org_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    product_code: Mapped[str] = mapped_column(String(50))
    # the period's whole due and what is still owed of it (the sum of four Money columns is
    # integer 分 to SQL: say it is still Money)
    amount_due: Mapped[Decimal] = column_property(
        type_coerce(principal_due + interest_due + fees_due + penalty_due, Money())
    )
    amount_outstanding: Mapped[Decimal] = column_property(
        type_coerce(
            principal_due + interest_due + fees_due + penalty_due
            - principal_paid - interest_paid - fees_paid - penalty_paid,
            Money(),
        )
    )  # fmt: skip
    # Close of business (cob.py): days past due as of the loan's ``cob_date`` (0 once paid),
    # the first overdue day (set once: the ``installment.overdue`` event was sent), and the
    # penalty interest (罚息) accrual — ``penalty_days`` charged in all, the current segment's
    # ``penalty_base`` and ``penalty_segment_days``, and what earlier segments charged
    # (``penalty_frozen``). See docs/repayment.md, "Close of business".
    days_past_due: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    overdue_since: Mapped[dt.date | None] = mapped_column(Date)
    penalty_days: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    penalty_base: Mapped[Decimal] = mapped_column(
        Money(), default=Decimal("0.00"), server_default=text("0")
    )
    penalty_segment_days: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    penalty_frozen: Mapped[Decimal] = mapped_column(
        Money(), default=Decimal("0.00"), server_default=text("0")
    )

    def due(self, part: str) -> Decimal:
        value: Decimal = getattr(self, f"{part}_due")
        return value

    def paid(self, part: str) -> Decimal:
        value: Decimal = getattr(self, f"{part}_paid")
        return value

    def outstanding(self, part: str) -> Decimal:
        return self.due(part) - self.paid(part)


def loan_copies(loan: Loan) -> dict[str, Any]:
    """What an installment copies from its loan (pass to ``Installment(...)``)."""
    return {
        "loan_number": loan.number,
        "customer_id": loan.customer_id,
        "owner_id": loan.owner_id,
        "org_unit_id": loan.org_unit_id,
        "product_code": str(loan.product_terms["code"]),
    }


class Payment(TenantOwned, Base):
    """Money received for a loan (还款). Never edited or deleted: a mistake is reversed (冲正)
    with a reason. ``sequence`` orders a loan's payments as they were posted; the
    ``idempotency_key`` is unique per tenant in the database and ``fingerprint`` tells a
    retried request (same body) from a different one reusing the key."""

    __tablename__ = "repayment_payments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "loan_id"], ["repayment_loans.tenant_id", "repayment_loans.id"]
        ),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint(_in("status", PAYMENT_STATUSES), name="status"),
        CheckConstraint(_in("source", PAYMENT_SOURCES), name="source"),
        Index("ix_repayment_payments_loan", "tenant_id", "loan_id", "sequence", unique=True),
        Index("ix_repayment_payments_idempotency_key", "tenant_id", "idempotency_key", unique=True),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sequence: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money())
    to_credit: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    received_on: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(10))
    reference: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="posted")
    posted_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_loan: Mapped[bool] = mapped_column(Boolean, default=False)
    reversed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reversed_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reversal_reason: Mapped[str | None] = mapped_column(String(500))


class Allocation(TenantOwned, Base):
    """How much of a payment went to one part of one installment; ``installment_id`` is None
    for the part kept as credit (``part`` = ``credit``). A reversal writes the same rows with
    negative amounts (``reversal``), so the sum of a payment's rows is what it still holds."""

    __tablename__ = "repayment_allocations"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "payment_id"], ["repayment_payments.tenant_id", "repayment_payments.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "installment_id"],
            ["repayment_installments.tenant_id", "repayment_installments.id"],
        ),
        CheckConstraint(_in("part", (*PARTS, "credit")), name="part"),
        CheckConstraint("amount <> 0", name="amount"),
        Index("ix_repayment_allocations_payment", "tenant_id", "payment_id"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    installment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    part: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Money())
    reversal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerEntry(TenantOwned, Base):
    """One line of a loan's double-entry ledger (分户账): each event's lines balance (debits =
    credits), lines of a funder's share name the funder. ``event`` is ``activation``,
    ``payment`` or ``reversal``; ``payment_id`` names the payment of the last two."""

    __tablename__ = "repayment_ledger"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "loan_id"], ["repayment_loans.tenant_id", "repayment_loans.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "payment_id"], ["repayment_payments.tenant_id", "repayment_payments.id"]
        ),
        CheckConstraint("debit >= 0 and credit >= 0 and (debit = 0 or credit = 0)", name="sides"),
        Index("ix_repayment_ledger_loan", "tenant_id", "loan_id", "account"),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    account: Mapped[str] = mapped_column(String(30))
    debit: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    credit: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    funder_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    event: Mapped[str] = mapped_column(String(12))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    booked_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


REMINDER_KINDS = ("before", "due_day")


class Reminder(TenantOwned, Base):
    """A product's reminder (还款提醒): the automation rule that is its T-N days SMS
    (``before``) or its due-day notice (``due_day``). The rule itself lives with the tenant's
    other automation rules (the designer shows it, the relative job fires it); this row only
    says whose it is, so that renaming the rule in the designer does not lose it. Deleting
    the rule there deletes the link with it."""

    __tablename__ = "repayment_reminders"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "rule_id"],
            ["automation_rules.tenant_id", "automation_rules.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint(_in("kind", REMINDER_KINDS), name="kind"),
        Index("ix_repayment_reminders_product", "tenant_id", "product_id", "kind", unique=True),
        Index("ix_repayment_reminders_rule", "tenant_id", "rule_id", unique=True),
    )

    product_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(10))
    rule_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
