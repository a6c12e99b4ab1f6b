"""credit: the credit queries (one row per external call, with its cost and variables)

Revision ID: cr001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "cr001"
down_revision = None
branch_labels = ("credit",)
depends_on = "c004"  # reads customers_consents


def upgrade() -> None:
    op.create_table(
        "credit_queries",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=True),
        sa.Column("connector", sa.String(length=100), nullable=False),
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cost", sdk.Money(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("asked_by_id", sa.Uuid(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("variables", sa.JSON(), nullable=True),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.CheckConstraint("status in ('ok', 'failed')", name=op.f("ck_credit_queries_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers_customers.tenant_id", "customers_customers.id"],
            name=op.f("fk_credit_queries_tenant_id_customer_id_customers_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "asked_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_credit_queries_tenant_id_asked_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_credit_queries_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_credit_queries")),
    )
    op.create_index(
        "ix_credit_queries_cache",
        "credit_queries",
        ["tenant_id", "customer_id", "connector", "created_at"],
    )
    op.create_index("ix_credit_queries_created_at", "credit_queries", ["tenant_id", "created_at"])
    sdk.enable_rls(op, "credit_queries")


def downgrade() -> None:
    op.drop_table("credit_queries")
