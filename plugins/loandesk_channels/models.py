"""Channels (渠道), their agents (渠道代理), the leads (线索) they bring, the cost of each
channel, and which application a lead became."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.sdk import Base, Money, PersonalData, TenantOwned, UTCDateTime, utcnow

KINDS = ("agent", "online_ad", "street", "partner")
LEAD_STATUSES = ("new", "contacted", "converted", "lost")
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class Channel(TenantOwned, Base):
    """A channel or, with ``parent_id``, a sub-channel (子渠道) of one. ``code`` is what links
    and reports name it by."""

    __tablename__ = "channels_channels"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "parent_id"], ["channels_channels.tenant_id", "channels_channels.id"]
        ),
        CheckConstraint(f"kind in {KINDS}", name="kind"),
        Index("ix_channels_channels_code", "tenant_id", "code", unique=True),
    )

    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Agent(TenantOwned, Base):
    """A staff account (with the ``channel_agent`` role) bringing leads for a channel;
    ``referral_code`` is in their personal link."""

    __tablename__ = "channels_agents"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "channel_id"], ["channels_channels.tenant_id", "channels_channels.id"]
        ),
        Index("ix_channels_agents_user", "tenant_id", "user_id", unique=True),
        Index("ix_channels_agents_referral_code", "tenant_id", "referral_code", unique=True),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    channel_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    referral_code: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lead(PersonalData, Base):
    """A prospect (线索): who, what they want, and where they came from. The mobile is
    personal data (encrypted, found by exact match, masked by field permission).
    ``owner_id`` is the agent whose link brought it (None until staff take it) and
    ``org_unit_id`` the agent's unit: data scopes read both."""

    __tablename__ = "channels_leads"
    __personal_fields__ = {"mobile": "mobile"}
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "channel_id"], ["channels_channels.tenant_id", "channels_channels.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "agent_id"], ["channels_agents.tenant_id", "channels_agents.id"]
        ),
        CheckConstraint(f"status in {LEAD_STATUSES}", name="status"),
        Index("ix_channels_leads_scope", "tenant_id", "org_unit_id", "owner_id"),
        Index("ix_channels_leads_channel", "tenant_id", "channel_id"),
    )

    name: Mapped[str] = mapped_column(String(50))
    product: Mapped[str | None] = mapped_column(String(60))
    amount: Mapped[Decimal | None] = mapped_column(Money())
    city: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="new")
    channel_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # the top-level channel's code (the channel's own, or its parent's for a sub-channel):
    # what reports and dashboards filter by; kept in step when channels change
    channel_code: Mapped[str | None] = mapped_column(String(40))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    utm_source: Mapped[str | None] = mapped_column(String(100))
    utm_medium: Mapped[str | None] = mapped_column(String(100))
    utm_campaign: Mapped[str | None] = mapped_column(String(100))
    utm_term: Mapped[str | None] = mapped_column(String(100))
    utm_content: Mapped[str | None] = mapped_column(String(100))
    referrer: Mapped[str | None] = mapped_column(String(500))
    landed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # what the prospect agreed to on the form: the text's version and SHA-256, and when
    consent_version: Mapped[str | None] = mapped_column(String(40))
    consent_hash: Mapped[str | None] = mapped_column(String(64))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    org_unit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # set when the retention period ran out and the personal data was cleared (匿名化)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LeadApplication(TenantOwned, Base):
    """The application a lead was converted into (one per lead), and its customer."""

    __tablename__ = "channels_lead_applications"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "lead_id"], ["channels_leads.tenant_id", "channels_leads.id"]
        ),
        Index("ix_channels_lead_applications_lead", "tenant_id", "lead_id", unique=True),
        Index("ix_channels_lead_applications_application", "tenant_id", "application_id"),
    )

    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    application_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    converted_by_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    converted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Cost(TenantOwned, Base):
    """What a channel cost (渠道费用) on a day or, dated the 1st, in a month."""

    __tablename__ = "channels_costs"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "channel_id"], ["channels_channels.tenant_id", "channels_channels.id"]
        ),
        CheckConstraint("amount >= 0", name="amount"),
        Index("ix_channels_costs_channel", "tenant_id", "channel_id", "spent_on"),
    )

    channel_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    spent_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
