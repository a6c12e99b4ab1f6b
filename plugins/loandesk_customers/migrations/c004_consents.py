"""customers: the borrowers' consent records (授权记录)

Revision ID: c004
Revises: c003
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "c004"
down_revision = "c003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers_consents",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("text_version", sa.String(length=40), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=True),
        sa.Column("agreed_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("evidence_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("withdrawn_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "purpose in ('credit_query', 'personal_info', 'marketing')",
            name=op.f("ck_customers_consents_purpose"),
        ),
        sa.CheckConstraint(
            "channel in ('web', 'paper', 'app')", name=op.f("ck_customers_consents_channel")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers_customers.tenant_id", "customers_customers.id"],
            name=op.f("fk_customers_consents_tenant_id_customer_id_customers_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "recorded_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_customers_consents_tenant_id_recorded_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "withdrawn_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_customers_consents_tenant_id_withdrawn_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_customers_consents_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_customers_consents")),
    )
    op.create_index(
        "ix_customers_consents_customer",
        "customers_consents",
        ["tenant_id", "customer_id", "purpose"],
    )
    sdk.enable_rls(op, "customers_consents")


def downgrade() -> None:
    op.drop_table("customers_consents")
