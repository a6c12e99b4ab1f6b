"""Rule sets (规则集), their published versions and the decisions (决策) made with them.

A tenant has one rule set per record type (applications for now): a draft the risk manager
edits freely, and numbered versions that publishing freezes. A decision names the version it
ran and keeps every input, hit, score and suggestion, so it reads the same forever."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.sdk import Base, Money, TenantOwned, UTCDateTime, utcnow


class RuleSet(TenantOwned, Base):
    """The tenant's rule set for ``record_type``: the draft (``draft``, the definition
    ``loandesk_risk.policy`` checks) and the number of its latest published version."""

    __tablename__ = "risk_rule_sets"
    __table_args__ = (
        Index("ix_risk_rule_sets_record_type", "tenant_id", "record_type", unique=True),
    )

    record_type: Mapped[str] = mapped_column(String(40))
    draft: Mapped[dict[str, Any]] = mapped_column(JSON)
    published: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class RuleSetVersion(TenantOwned, Base):
    """A published version: immutable once written."""

    __tablename__ = "risk_rule_set_versions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "rule_set_id"], ["risk_rule_sets.tenant_id", "risk_rule_sets.id"]
        ),
        Index(
            "ix_risk_rule_set_versions_number", "tenant_id", "rule_set_id", "number", unique=True
        ),
    )

    rule_set_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    number: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class Decision(TenantOwned, Base):
    """The rule set's decision on one record at its submission: ``outcome`` is auto_approve,
    refer or auto_reject; ``inputs`` the values used, ``hits`` the rules that held (with
    their outcome and reasons), ``scores`` each scorecard variable's bin and points;
    ``context`` every value the rules could have read then (the form's and other plugins'
    variables: what a back-test runs a draft over). ``review_*``: the borrower asked for a
    person to decide (人工复核请求, PIPL art. 24); the flow then sees ``refer``."""

    __tablename__ = "risk_decisions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "version_id"],
            ["risk_rule_set_versions.tenant_id", "risk_rule_set_versions.id"],
        ),
        Index("ix_risk_decisions_record", "tenant_id", "record_type", "record_id"),
        Index("ix_risk_decisions_decided_at", "tenant_id", "record_type", "decided_at"),
    )

    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    version_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    version_number: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    hits: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    scores: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    total_score: Mapped[int | None] = mapped_column(Integer)
    grade: Mapped[str | None] = mapped_column(String(20))
    suggested_limit: Mapped[Decimal | None] = mapped_column(Money())
    suggested_rate: Mapped[Decimal | None] = mapped_column(Money(6))  # 0.085000 a year
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    review_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_requested_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # who recorded it
    review_channel: Mapped[str | None] = mapped_column(String(20))
    review_note: Mapped[str | None] = mapped_column(Text)


class BackTest(TenantOwned, Base):
    """A back-test (回测): ``definition`` (the draft or a version, as it was when asked, with
    the input ``kinds`` of that moment) run over the stored decisions made between ``since``
    and ``until``. ``matrix`` counts old outcome -> new outcome; ``rows`` keeps each decision's
    old and new outcome (all of them up to ``ROWS_KEPT``, beyond that the changed ones)."""

    __tablename__ = "risk_back_tests"

    record_type: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(40))  # "draft" or "v3"
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    kinds: Mapped[dict[str, Any]] = mapped_column(JSON)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued, running, done
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    matrix: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    job_id: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
