"""webhooks: subscriptions of a tenant's URLs to its events, and the deliveries to them with
each attempt's request and answer

Revision ID: 0030
Revises: 0029
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.tenancy import rls

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

SUBS = "webhook_subscriptions"
DELIVERIES = "webhook_deliveries"


def upgrade() -> None:
    op.create_table(
        SUBS,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("disabled_at", UTCDateTime(), nullable=True),
        sa.Column("disabled_reason", sa.String(length=500), nullable=False),
        sa.Column("last_success_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f(f"fk_{SUBS}_tenant_id_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{SUBS}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{SUBS}")),
    )
    op.create_table(
        DELIVERIES,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.JSON(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "state in ('pending', 'succeeded', 'failed')", name=op.f(f"ck_{DELIVERIES}_state")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subscription_id"],
            [f"{SUBS}.tenant_id", f"{SUBS}.id"],
            name=op.f(f"fk_{DELIVERIES}_tenant_id_subscription_id_{SUBS}"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{DELIVERIES}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{DELIVERIES}")),
        sa.UniqueConstraint(
            "tenant_id",
            "subscription_id",
            "event_id",
            name=op.f(f"uq_{DELIVERIES}_tenant_id_subscription_id_event_id"),
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due", DELIVERIES, ["tenant_id", "state", "next_attempt_at"]
    )
    op.create_index(
        "ix_webhook_deliveries_subscription", DELIVERIES, ["tenant_id", "subscription_id"]
    )
    rls.enable(op, SUBS)
    rls.enable(op, DELIVERIES)


def downgrade() -> None:
    rls.disable(op, DELIVERIES)
    rls.disable(op, SUBS)
    op.drop_index("ix_webhook_deliveries_subscription", table_name=DELIVERIES)
    op.drop_index("ix_webhook_deliveries_due", table_name=DELIVERIES)
    op.drop_table(DELIVERIES)
    op.drop_table(SUBS)
