"""notifications: the message outbox (the log of what went to borrowers), in-app
notifications, staff preferences and the tenant's quiet hours

Revision ID: 0023
Revises: 0022
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.tenancy import rls

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

TABLES = (
    "notification_messages",
    "in_app_notifications",
    "notification_preferences",
    "notification_quiet_hours",
)


def _owned(name: str) -> list[Any]:
    """The tenant key columns and constraints every tenant-owned table has."""
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{name}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{name}")),
    ]


def _user_fk(name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "user_id"],
        ["users.tenant_id", "users.id"],
        name=op.f(f"fk_{name}_tenant_id_user_id_users"),
    )


def upgrade() -> None:
    op.create_table(
        "notification_messages",
        *_owned("notification_messages"),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("audience", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("address_enc", sa.Text(), nullable=True),
        sa.Column("address_masked", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=True),
        sa.Column("record_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("send_after", UTCDateTime(), nullable=False),
        sa.Column("provider_id", sa.String(length=200), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "audience in ('staff', 'borrower')", name=op.f("ck_notification_messages_audience")
        ),
        sa.CheckConstraint(
            "state in ('pending', 'sent', 'failed')", name=op.f("ck_notification_messages_state")
        ),
        _user_fk("notification_messages"),
        sa.UniqueConstraint(
            "tenant_id", "key", name=op.f("uq_notification_messages_tenant_id_key")
        ),
    )
    op.create_index(
        "ix_notification_messages_due",
        "notification_messages",
        ["tenant_id", "state", "send_after"],
        unique=False,
    )
    op.create_index(
        "ix_notification_messages_record",
        "notification_messages",
        ["tenant_id", "record_type", "record_id"],
        unique=False,
    )
    op.create_table(
        "in_app_notifications",
        *_owned("in_app_notifications"),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=True),
        sa.Column("record_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        _user_fk("in_app_notifications"),
    )
    op.create_index(
        "ix_in_app_notifications_user",
        "in_app_notifications",
        ["tenant_id", "user_id", "read_at", "created_at"],
        unique=False,
    )
    op.create_table(
        "notification_preferences",
        *_owned("notification_preferences"),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _user_fk("notification_preferences"),
        sa.UniqueConstraint(
            "tenant_id", "user_id", name=op.f("uq_notification_preferences_tenant_id_user_id")
        ),
    )
    op.create_table(
        "notification_quiet_hours",
        *_owned("notification_quiet_hours"),
        sa.Column("start", sa.String(length=5), nullable=False),
        sa.Column("end", sa.String(length=5), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_notification_quiet_hours_tenant_id")),
    )
    for table in TABLES:
        rls.enable(op, table)


def downgrade() -> None:
    for table in reversed(TABLES):
        rls.disable(op, table)
    op.drop_table("notification_quiet_hours")
    op.drop_table("notification_preferences")
    op.drop_index("ix_in_app_notifications_user", table_name="in_app_notifications")
    op.drop_table("in_app_notifications")
    op.drop_index("ix_notification_messages_record", table_name="notification_messages")
    op.drop_index("ix_notification_messages_due", table_name="notification_messages")
    op.drop_table("notification_messages")
