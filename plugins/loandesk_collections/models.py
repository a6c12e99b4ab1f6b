"""Collections (催收) tables: agencies (委外机构) and their users, queues (催收队列) with their
members, the ordered rules that put cases into queues, scripts (催收话术) per bucket, and the
cases themselves with their assignments, actions and promises to pay (承诺还款).

A case (催收案件) is one per loan: it opens when the loan falls into arrears (or when an
automation assigns the loan to early collection), follows the loan's DPD, bucket and overdue
amounts as the loan-keeping plugin reports them (``loandesk_loan_positions``), and closes when
the loan is current again; a loan that falls behind again reopens its case. Each time a case
goes to a queue (and a collector) an assignment row starts: what happens while it runs
(actions, promises, money collected) is counted on it, for the performance report."""

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
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.schema import Table

from loandesk.sdk import Base, CustomValues, Money, TenantOwned, UTCDateTime, utcnow

BALANCING = ("round_robin", "least_loaded")
CASE_STATUSES = ("open", "closed")
ACTION_KINDS = ("call", "sms", "visit", "letter", "note")
# what came of an action (催收结果代码); a promise to pay is recorded as a promise
OUTCOMES = (
    "promised",
    "paid_claimed",
    "no_answer",
    "busy",
    "refused",
    "wrong_number",
    "third_party",
    "callback",
    "delivered",
    "not_delivered",
    "met",
    "not_found",
    "other",
)
PROMISE_STATUSES = ("open", "kept", "broken")
REASONS = ("opened", "rolled", "early", "manual", "reopened")


def table(model: Any) -> Table:
    """The model's table, for set-based Core statements over many rows."""
    found: Table = model.__table__
    return found


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def _fk(column: str, table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", column], [f"{table}.tenant_id", f"{table}.id"])


class Agency(TenantOwned, Base):
    """An outside collection firm (委外机构). Its users see only the cases assigned to it."""

    __tablename__ = "collections_agencies"
    __table_args__ = (Index("ix_collections_agencies_code", "tenant_id", "code", unique=True),)

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgencyUser(TenantOwned, Base):
    """A staff account that works for an agency (one agency per account)."""

    __tablename__ = "collections_agency_users"
    __table_args__ = (
        _fk("agency_id", "collections_agencies"),
        _fk("user_id", "users"),
        Index("ix_collections_agency_users_user", "tenant_id", "user_id", unique=True),
    )

    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class Queue(TenantOwned, Base):
    """A queue (催收队列): its collectors (members) share its cases, balanced round robin or to
    the least loaded. A queue of an agency hands its cases to that agency."""

    __tablename__ = "collections_queues"
    __table_args__ = (
        _fk("agency_id", "collections_agencies"),
        CheckConstraint(_in("balancing", BALANCING), name="balancing"),
        Index("ix_collections_queues_code", "tenant_id", "code", unique=True),
    )

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    agency_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    balancing: Mapped[str] = mapped_column(String(20), default="round_robin")
    # round robin: how many cases the queue has handed out (the next member is this modulo n)
    handed_out: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class QueueMember(TenantOwned, Base):
    __tablename__ = "collections_queue_members"
    __table_args__ = (
        _fk("queue_id", "collections_queues"),
        _fk("user_id", "users"),
        Index("ix_collections_queue_members_user", "tenant_id", "queue_id", "user_id", unique=True),
    )

    queue_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Rule(TenantOwned, Base):
    """An assignment rule (分案规则): the first active rule, by ``position``, whose conditions
    a loan meets puts its case into ``queue_id``. Empty conditions match everything:
    ``buckets`` and ``product_codes`` are comma-separated lists, the overdue amount is within
    ``min_overdue`` .. ``max_overdue`` (inclusive), ``org_unit_id`` is the loan's unit (the
    region)."""

    __tablename__ = "collections_rules"
    __table_args__ = (
        _fk("queue_id", "collections_queues"),
        _fk("org_unit_id", "org_units"),
        Index("ix_collections_rules_position", "tenant_id", "position"),
    )

    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    queue_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    buckets: Mapped[str] = mapped_column(String(200), default="")
    product_codes: Mapped[str] = mapped_column(String(200), default="")
    min_overdue: Mapped[Decimal | None] = mapped_column(Money())
    max_overdue: Mapped[Decimal | None] = mapped_column(Money())
    org_unit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Script(TenantOwned, Base):
    """What a collector says (催收话术) to a borrower whose loan is in ``bucket``."""

    __tablename__ = "collections_scripts"
    __table_args__ = (Index("ix_collections_scripts_bucket", "tenant_id", "bucket", unique=True),)

    bucket: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Case(CustomValues, TenantOwned, Base):
    """A collection case (催收案件), one per loan. ``owner_id`` is the collector it is assigned
    to (data scopes read it), ``org_unit_id`` the loan's unit. The arrears are the loan's as
    last reported (``business_date``)."""

    __tablename__ = "collections_cases"
    __table_args__ = (
        _fk("loan_id", "repayment_loans"),
        _fk("customer_id", "customers_customers"),
        _fk("queue_id", "collections_queues"),
        _fk("agency_id", "collections_agencies"),
        _fk("owner_id", "users"),
        _fk("org_unit_id", "org_units"),
        CheckConstraint(_in("status", CASE_STATUSES), name="status"),
        Index("ix_collections_cases_loan", "tenant_id", "loan_id", unique=True),
        Index("ix_collections_cases_queue", "tenant_id", "status", "queue_id", "owner_id"),
        Index("ix_collections_cases_agency", "tenant_id", "agency_id", "status"),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    loan_number: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    product_code: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(10), default="open")
    early: Mapped[bool] = mapped_column(Boolean, default=False)  # assigned before overdue
    business_date: Mapped[dt.date | None] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    bucket: Mapped[str] = mapped_column(String(10), default="M0")
    overdue_principal: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    overdue_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    principal_outstanding: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    queue_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    agency_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    org_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    assignment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    times_opened: Mapped[int] = mapped_column(Integer, default=1)


class Assignment(TenantOwned, Base):
    """One stretch of a case in a queue (and with a collector), and what happened in it."""

    __tablename__ = "collections_assignments"
    __table_args__ = (
        _fk("case_id", "collections_cases"),
        _fk("queue_id", "collections_queues"),
        _fk("agency_id", "collections_agencies"),
        _fk("collector_id", "users"),
        CheckConstraint(_in("reason", REASONS), name="reason"),
        Index("ix_collections_assignments_case", "tenant_id", "case_id", "started_at"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    queue_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    agency_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    collector_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    bucket: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    actions: Mapped[int] = mapped_column(Integer, default=0)
    promises_made: Mapped[int] = mapped_column(Integer, default=0)
    promises_kept: Mapped[int] = mapped_column(Integer, default=0)
    promises_broken: Mapped[int] = mapped_column(Integer, default=0)
    collected: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))


class Action(TenantOwned, Base):
    """Something a collector did on a case (催收记录): a call, an SMS, a visit, a letter."""

    __tablename__ = "collections_actions"
    __table_args__ = (
        _fk("case_id", "collections_cases"),
        _fk("assignment_id", "collections_assignments"),
        _fk("user_id", "users"),
        CheckConstraint(_in("kind", ACTION_KINDS), name="kind"),
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
        Index("ix_collections_actions_case", "tenant_id", "case_id", "created_at"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    assignment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(10))
    outcome: Mapped[str] = mapped_column(String(20))
    contact: Mapped[str] = mapped_column(String(100), default="")  # who was reached
    note: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Promise(TenantOwned, Base):
    """A promise to pay (承诺还款): ``amount`` by ``promised_on``. Payments on the loan after
    it was made count towards it (``paid``); it is kept once they reach the amount, broken
    when the date passes first."""

    __tablename__ = "collections_promises"
    __table_args__ = (
        _fk("case_id", "collections_cases"),
        _fk("assignment_id", "collections_assignments"),
        _fk("made_by_id", "users"),
        CheckConstraint(_in("status", PROMISE_STATUSES), name="status"),
        CheckConstraint("amount > 0", name="amount"),
        Index("ix_collections_promises_open", "tenant_id", "status", "promised_on"),
        Index("ix_collections_promises_case", "tenant_id", "case_id"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    assignment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    amount: Mapped[Decimal] = mapped_column(Money())
    promised_on: Mapped[dt.date] = mapped_column(Date)
    paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    status: Mapped[str] = mapped_column(String(10), default="open")
    note: Mapped[str] = mapped_column(Text, default="")
    made_by_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class MonthEnd(TenantOwned, Base):
    """Where a loan stood on arrears at the end of a month (月末逾期快照), for roll rates
    (迁徙率): one row per loan and month (``month``: its first day; ``next_month``: the
    first day of the one after, which the roll-rate dataset joins on). Written from the
    loan positions the loan-keeping plugin reports; the last position of the month wins, so
    the row is the loan's state at the month's end. Loans never behind have no rows."""

    __tablename__ = "collections_month_ends"
    __table_args__ = (
        _fk("loan_id", "repayment_loans"),
        _fk("org_unit_id", "org_units"),
        Index("ix_collections_month_ends_loan", "tenant_id", "loan_id", "month", unique=True),
        Index("ix_collections_month_ends_month", "tenant_id", "month"),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    month: Mapped[dt.date] = mapped_column(Date)
    next_month: Mapped[dt.date] = mapped_column(Date)
    business_date: Mapped[dt.date] = mapped_column(Date)  # of the position recorded
    days_past_due: Mapped[int] = mapped_column(Integer)
    bucket: Mapped[str] = mapped_column(String(10))
    principal_outstanding: Mapped[Decimal] = mapped_column(Money())
    product_code: Mapped[str] = mapped_column(String(40), default="")
    org_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
