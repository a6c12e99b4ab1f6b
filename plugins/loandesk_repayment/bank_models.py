"""Bank statements (银行流水) and reconciliation (对账): a firm's saved column mappings, each
import of a statement file with its counts, its lines and their outcome (posted, already
posted, unmatched in the queue 待匹配流水, assigned or dismissed by a person, skipped), and
the repayment card (还款卡) a loan is paid from. Amounts are ``Money`` (integer 分)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
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

from loandesk.sdk import Base, JSONValues, Money, PersonalData, TenantOwned, UTCDateTime, utcnow

IMPORT_STATES = ("queued", "running", "done", "failed")
# pending: read, not matched yet; posted: matched and posted now; already_posted: its key
# was posted before (an earlier import, or the queue); duplicate: the same line is already
# in the queue or was dismissed; unmatched: in the queue; assigned: posted from the queue
# by a person; dismissed: not a repayment (with a reason); skipped: money out
LINE_STATUSES = (
    "pending", "posted", "already_posted", "duplicate", "unmatched", "assigned", "dismissed",
    "skipped",
)  # fmt: skip
MATCH_RULES = ("reference", "card", "amount", "manual")
DISMISS_REASONS = ("not_ours", "refund", "duplicate", "other")


def _in(column: str, values: tuple[str, ...]) -> str:
    return "{} in ({})".format(column, ", ".join(f"'{v}'" for v in values))


class BankMapping(TenantOwned, Base):
    """A firm's own column mapping for a bank's export, saved under a name and chosen at
    upload: ``columns`` maps each role (date, credit, debit, amount, direction, name,
    account, memo, serial) to the header(s) that hold it."""

    __tablename__ = "repayment_bank_mappings"
    __table_args__ = (Index("ix_repayment_bank_mappings_name", "tenant_id", "name", unique=True),)

    name: Mapped[str] = mapped_column(String(60))
    columns: Mapped[dict[str, Any]] = mapped_column(JSONValues)
    account: Mapped[str | None] = mapped_column(String(40))  # the firm's receiving account
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class BankImport(TenantOwned, Base):
    """One upload of a statement file: who, when, the file's name and SHA-256, the format it
    was read as, and the counts of its lines' outcomes (kept up to date while it runs)."""

    __tablename__ = "repayment_bank_imports"
    __table_args__ = (
        CheckConstraint(_in("state", IMPORT_STATES), name="state"),
        Index("ix_repayment_bank_imports_created", "tenant_id", "created_at"),
    )

    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(60))
    account: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(10), default="queued")
    lines: Mapped[int] = mapped_column(Integer, default=0)
    credits: Mapped[int] = mapped_column(Integer, default=0)
    posted: Mapped[int] = mapped_column(Integer, default=0)
    already_posted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    unmatched: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)  # credit lines processed so far
    job_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class BankLine(TenantOwned, Base):
    """One line of an imported statement and its outcome. The payer's account number is
    personal data when it is a borrower's card: kept encrypted (``account_enc``) with its
    keyed hash (``account_hash``, the same hash the customers plugin and the loan's
    repayment card use) and its last four digits for display. ``idempotency_key`` is the
    key its payment is posted with (see ``bank_import.line_key``)."""

    __tablename__ = "repayment_bank_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "import_id"],
            ["repayment_bank_imports.tenant_id", "repayment_bank_imports.id"],
        ),
        CheckConstraint(_in("status", LINE_STATUSES), name="status"),
        CheckConstraint(_in("direction", ("credit", "debit")), name="direction"),
        CheckConstraint("amount > 0", name="amount"),
        Index("ix_repayment_bank_lines_import", "tenant_id", "import_id", "row_number"),
        Index("ix_repayment_bank_lines_status", "tenant_id", "status", "booked_on"),
        Index("ix_repayment_bank_lines_key", "tenant_id", "idempotency_key"),
    )

    import_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    row_number: Mapped[int] = mapped_column(Integer)
    occurrence: Mapped[int] = mapped_column(Integer, default=0)
    booked_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    direction: Mapped[str] = mapped_column(String(6))
    counterparty_name: Mapped[str | None] = mapped_column(String(100))
    account_enc: Mapped[str | None] = mapped_column(Text)
    account_hash: Mapped[str | None] = mapped_column(String(64))
    account_tail: Mapped[str | None] = mapped_column(String(4))
    memo: Mapped[str | None] = mapped_column(String(500))
    serial: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(20))  # why unmatched, or dismissed
    detail: Mapped[str | None] = mapped_column(String(500))
    rule: Mapped[str | None] = mapped_column(String(10))  # MATCH_RULES
    loan_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    resolved_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RepaymentCard(PersonalData, Base):
    """The card a loan is repaid from (还款卡), set by staff. The customers plugin keeps a
    borrower's further cards (with their purpose) in a table the sdk does not reach (only the
    customer record's own ``bank_card`` field is), so the loan keeps its repayment card
    itself: encrypted, with the tenant's keyed hash, for matching statement lines."""

    __tablename__ = "repayment_loan_cards"
    __personal_fields__ = {"card_number": "bank_card"}
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "loan_id"], ["repayment_loans.tenant_id", "repayment_loans.id"]
        ),
        Index("ix_repayment_loan_cards_loan", "tenant_id", "loan_id", unique=True),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    bank_name: Mapped[str | None] = mapped_column(String(60))
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
