"""Close of business runs (日终批处理): one row per tenant and business date, the checkpoint a
crashed run resumes from and the progress the API shows (cob.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.sdk import Base, Money, TenantOwned, UTCDateTime, utcnow

# running → done; a run left unfinished when a later date's run starts is ``superseded``
# (the later run carries its loans, every statement taking loans whose cob_date is earlier)
COB_STATES = ("running", "done", "superseded")


class CobRun(TenantOwned, Base):
    """Close of business for one business date: ``last_loan_id`` is the checkpoint (loans are
    taken in chunks by id, each chunk committed with it), the counts its progress."""

    __tablename__ = "repayment_cob_runs"
    __table_args__ = (
        CheckConstraint(
            "state in ({})".format(", ".join(f"'{s}'" for s in COB_STATES)), name="state"
        ),
        Index("ix_repayment_cob_runs_date", "tenant_id", "business_date", unique=True),
    )

    business_date: Mapped[dt.date] = mapped_column(Date)
    previous_date: Mapped[dt.date | None] = mapped_column(Date)  # the run before, if any
    state: Mapped[str] = mapped_column(String(12), default="running")
    loans_total: Mapped[int] = mapped_column(Integer, default=0)
    loans_done: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    last_loan_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    installments_overdue: Mapped[int] = mapped_column(Integer, default=0)  # newly overdue
    bucket_changes: Mapped[int] = mapped_column(Integer, default=0)
    penalty_posted: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # None: the schedule
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
