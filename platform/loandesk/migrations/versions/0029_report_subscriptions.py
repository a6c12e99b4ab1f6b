"""report subscriptions: a saved report sent to chosen staff on a cron schedule, and each
send per due time and recipient (unique); ``reports.export``, which existing tenants'
built-in risk managers get as new tenants' do

Revision ID: 0029
Revises: 0028
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.rbac.migration_grants import change_builtin_roles
from loandesk.tenancy import rls

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

# What new tenants' built-in roles get from loandesk.rbac.catalog, as it was at this revision.
GRANTS = {"risk_manager": ("reports.export",)}
NEW_PERMISSIONS = ("reports.export",)


def upgrade() -> None:
    op.create_table(
        "report_subscriptions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("cron", sa.String(length=100), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("last_due_at", UTCDateTime(), nullable=True),
        sa.Column("last_sent_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "format in ('inline', 'csv', 'xlsx')", name=op.f("ck_report_subscriptions_format")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "report_id"],
            ["reports.tenant_id", "reports.id"],
            name=op.f("fk_report_subscriptions_tenant_id_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_report_subscriptions_tenant_id_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_report_subscriptions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_report_subscriptions")),
    )
    op.create_index(
        "ix_report_subscriptions_report", "report_subscriptions", ["tenant_id", "report_id"]
    )
    op.create_table(
        "report_deliveries",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "outcome in ('sent', 'refused')", name=op.f("ck_report_deliveries_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subscription_id"],
            ["report_subscriptions.tenant_id", "report_subscriptions.id"],
            name="fk_report_deliveries_subscription",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "recipient_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_report_deliveries_tenant_id_recipient_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_report_deliveries_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_report_deliveries")),
        sa.UniqueConstraint(
            "tenant_id",
            "subscription_id",
            "due_at",
            "recipient_id",
            name="uq_report_deliveries_once",
        ),
    )
    rls.enable(op, "report_subscriptions")
    rls.enable(op, "report_deliveries")
    change_builtin_roles(op, GRANTS, NEW_PERMISSIONS, add=True)


def downgrade() -> None:
    change_builtin_roles(op, GRANTS, NEW_PERMISSIONS, add=False)
    rls.disable(op, "report_deliveries")
    rls.disable(op, "report_subscriptions")
    op.drop_table("report_deliveries")
    op.drop_index("ix_report_subscriptions_report", table_name="report_subscriptions")
    op.drop_table("report_subscriptions")
