"""intake: loan applications

Revision ID: i001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "i001"
down_revision = None
branch_labels = ("intake",)
depends_on = ("c003", "0015")


def upgrade() -> None:
    op.create_table(
        "intake_applications",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sdk.Money(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("org_unit_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("submitted_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("custom", sdk.JSONValues, nullable=False, server_default=sa.text("'{}'")),
        sa.CheckConstraint(
            "status in ('draft', 'submitted', 'withdrawn')",
            name=op.f("ck_intake_applications_status"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_intake_applications_amount")),
        sa.CheckConstraint(
            "term_months between 1 and 360", name=op.f("ck_intake_applications_term_months")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers_customers.tenant_id", "customers_customers.id"],
            name=op.f("fk_intake_applications_tenant_id_customer_id_customers_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "org_unit_id"],
            ["org_units.tenant_id", "org_units.id"],
            name=op.f("fk_intake_applications_tenant_id_org_unit_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "owner_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_intake_applications_tenant_id_owner_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_intake_applications_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_intake_applications")),
    )
    with op.batch_alter_table("intake_applications", schema=None) as batch_op:
        batch_op.create_index("ix_intake_applications_number", ["tenant_id", "number"], unique=True)
        batch_op.create_index(
            "ix_intake_applications_scope", ["tenant_id", "org_unit_id", "owner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_intake_applications_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_intake_applications_owner_id"), ["owner_id"], unique=False
        )
    sdk.enable_rls(op, "intake_applications")


def downgrade() -> None:
    op.drop_table("intake_applications")
