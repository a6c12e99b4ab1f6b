"""Tables of the automation engine: a tenant's rules, and each time a rule fired for a record
(one row per rule, record and occurrence: the unique key that makes a rule fire at most once
for the same thing, across retries, restarts and concurrent schedulers)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow

FIRING_STATES = ("pending", "done", "failed")


class AutomationRule(TenantOwned, Base):
    """When ``trigger`` happens to a record of ``record_type`` and ``condition`` holds, do
    ``actions`` (JSON as ``automations.rules`` describes). ``version`` grows with each edit:
    a firing records the version whose actions it runs."""

    __tablename__ = "automation_rules"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        ForeignKeyConstraint(["tenant_id", "updated_by_id"], ["users.tenant_id", "users.id"]),
        Index("ix_automation_rules_trigger", "tenant_id", "enabled", "trigger_key"),
    )

    name: Mapped[str] = mapped_column(String(100))
    record_type: Mapped[str] = mapped_column(String(40))
    # what the rule listens for, as one string: "event:application.approved",
    # "relative:due_date", "schedule" (looked up by it)
    trigger_key: Mapped[str] = mapped_column(String(120))
    trigger: Mapped[dict[str, Any]] = mapped_column(JSON)
    condition: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # relative triggers: the tenant-local day whose due records were last looked for
    checked_on: Mapped[date | None] = mapped_column(Date)
    # schedule triggers: the latest due time of the cron whose records were looked for
    last_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class RuleFiring(TenantOwned, Base):
    """A rule firing for one record and one occurrence (an event's id, a due date, a
    schedule's time). ``next_action`` is how many of its actions are done: each action's
    effect and this counter are committed together, so a retry goes on where it stopped and
    no action runs twice."""

    __tablename__ = "automation_firings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "rule_id"], ["automation_rules.tenant_id", "automation_rules.id"]
        ),
        UniqueConstraint("tenant_id", "rule_id", "record_id", "occurrence"),
        CheckConstraint(
            "state in ('pending', 'done', 'failed')",
            name="state",
        ),
        Index("ix_automation_firings_rule", "tenant_id", "rule_id", "created_at"),
        Index("ix_automation_firings_state", "tenant_id", "state"),
    )

    rule_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    rule_version: Mapped[int] = mapped_column(Integer)
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(64))
    occurrence: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    next_action: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # a runner owns the firing until then (another waits it out); retries wait until
    # ``next_attempt_at``
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookSecret(TenantOwned, Base):
    """The key a tenant's webhooks are signed with (one per tenant): ``secret`` is its
    ciphertext under the tenant's data keys (``loandesk.pii``), never stored or logged in
    clear. A new secret replaces it in place (``automations.signing.rotate``)."""

    __tablename__ = "automation_webhook_secrets"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        ForeignKeyConstraint(["tenant_id", "updated_by_id"], ["users.tenant_id", "users.id"]),
    )

    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # when the secret in force was made, and by whom (None: the system, at the first webhook)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
