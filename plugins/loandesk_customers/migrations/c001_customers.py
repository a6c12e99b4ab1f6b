"""customers: the customers table

Revision ID: c001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "c001"
down_revision = None
branch_labels = ("customers",)
depends_on = "0011"


def upgrade() -> None:
    op.create_table(
        "customers_customers",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("employer", sa.String(length=100), nullable=True),
        sa.Column("monthly_income", sdk.Money(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("org_unit_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("closed_at", sdk.UTCDateTime(), nullable=True),
        *[
            column
            for field in ("id_number", "mobile", "address", "bank_card")
            for column in (
                sa.Column(f"{field}_enc", sa.Text(), nullable=True),
                sa.Column(f"{field}_hash", sa.String(length=64), nullable=True),
            )
        ],
        sa.CheckConstraint(
            "status in ('active', 'closed')", name=op.f("ck_customers_customers_status")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "org_unit_id"],
            ["org_units.tenant_id", "org_units.id"],
            name=op.f("fk_customers_customers_tenant_id_org_unit_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "owner_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_customers_customers_tenant_id_owner_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_customers_customers_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_customers_customers")),
    )
    with op.batch_alter_table("customers_customers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customers_customers_scope", ["tenant_id", "org_unit_id", "owner_id"]
        )
        for column in (
            "name",
            "owner_id",
            "id_number_hash",
            "mobile_hash",
            "address_hash",
            "bank_card_hash",
        ):
            batch_op.create_index(batch_op.f(f"ix_customers_customers_{column}"), [column])
    sdk.enable_rls(op, "customers_customers")


def downgrade() -> None:
    op.drop_table("customers_customers")
