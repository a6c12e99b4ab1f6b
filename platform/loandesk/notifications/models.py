"""The notification tables: the outbox of messages (the log of what went to borrowers), the
staff's in-app notifications, their preferences and the tenant's quiet hours."""

from __future__ import annotations

import uuid
from datetime import date, datetime

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


class Message(TenantOwned, Base):
    """One message through one channel to one recipient. ``key`` is unique in the tenant:
    ``notify`` with a key already used returns the first message (an automation retried).
    ``audience`` is ``staff`` (``user_id`` set) or ``borrower``; the address (a phone number or
    e-mail) is kept encrypted with the tenant's keyring in ``address_enc`` and shown as
    ``address_masked``. ``send_after`` is when it may go (the end of the quiet hours, or the
    next retry); subject and body are kept in full: they are the log of what was sent."""

    __tablename__ = "notification_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        CheckConstraint("audience in ('staff', 'borrower')", name="audience"),
        CheckConstraint("state in ('pending', 'sent', 'failed')", name="state"),
        CheckConstraint("delivery in ('delivered', 'undelivered')", name="delivery"),
        Index("ix_notification_messages_due", "tenant_id", "state", "send_after"),
        Index("ix_notification_messages_record", "tenant_id", "record_type", "record_id"),
        Index("ix_notification_messages_log", "tenant_id", "audience", "created_at"),
        Index("ix_notification_messages_provider", "tenant_id", "channel", "provider_id"),
    )

    key: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(40))
    audience: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    address_enc: Mapped[str | None] = mapped_column(Text)
    address_masked: Mapped[str] = mapped_column(String(100), default="")
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(16), default="zh_CN")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    record_type: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    provider_id: Mapped[str] = mapped_column(String(200), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # an SMS sent with a template (``sdk.send_sms``): the template's key and the provider's
    # code for it as they were then, and the params in the template's placeholder order; the
    # body is the rendered text. None for free text
    template_key: Mapped[str | None] = mapped_column(String(60))
    template_code: Mapped[str | None] = mapped_column(String(100))
    template_params: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # the provider's delivery receipt (回执): delivered to the handset or not, when, and the
    # provider's code and words for it; None until a receipt came
    delivery: Mapped[str | None] = mapped_column(String(12))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_detail: Mapped[str] = mapped_column(String(300), default="")
    # the tenant-local day it was counted against its channel's daily limit (once, at its
    # first attempt: a retry is not counted again); None when not counted
    counted_on: Mapped[date | None] = mapped_column(Date)


class DailyCount(TenantOwned, Base):
    """How many messages one address got through one channel on one tenant-local day, for
    channels with a daily limit. The address is kept only as the tenant's keyed hash of it
    (``Keyring.search_hash``), never in plaintext; the nightly ``core.forget_message_counts``
    deletes the days before yesterday."""

    __tablename__ = "notification_daily_counts"
    __table_args__ = (UniqueConstraint("tenant_id", "channel", "address_hash", "day"),)

    channel: Mapped[str] = mapped_column(String(40))
    address_hash: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    sent: Mapped[int] = mapped_column(Integer)


class InAppNotification(TenantOwned, Base):
    """A notification shown to one staff member in the app (the bell), until read."""

    __tablename__ = "in_app_notifications"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        Index("ix_in_app_notifications_user", "tenant_id", "user_id", "read_at", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    record_type: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Preference(TenantOwned, Base):
    """A staff member's choice: notifications in the app only, or also by e-mail."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    email: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuietHours(TenantOwned, Base):
    """The tenant's quiet hours for messages to borrowers, local "HH:MM" (start after end:
    over midnight). No row: the defaults, 21:00 to 08:00."""

    __tablename__ = "notification_quiet_hours"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    start: Mapped[str] = mapped_column(String(5), default="21:00")
    end: Mapped[str] = mapped_column(String(5), default="08:00")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsTemplate(TenantOwned, Base):
    """An SMS template (短信模板) as the firm registered it with its SMS provider: ``text``
    with ``{param}`` placeholders, and the provider's ``provider_code`` for it (Alibaba's
    ``SMS_…`` TemplateCode, Tencent's TemplateId). Code sends with it by ``key``
    (``sdk.send_sms``); a disabled one sends nothing."""

    __tablename__ = "sms_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    key: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    provider_code: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
