"""disbursement: disbursement orders and their split between funders

Revision ID: ds001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "ds001"
down_revision = None
branch_labels = ("disbursement",)
depends_on = "0029"

STATUSES = "'requested', 'approved', 'paying', 'paid', 'failed', 'rejected', 'cancelled'"


def upgrade() -> None:
    op.create_table(
        "disbursement_orders",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("loan_number", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("product_name", sa.String(length=100), nullable=False),
        sa.Column("amount", sdk.Money(), nullable=False),
        sa.Column("account_name", sa.String(length=50), nullable=False),
        sa.Column("bank_name", sa.String(length=60), nullable=False),
        sa.Column("account_number_enc", sa.Text(), nullable=True),
        sa.Column("account_number_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("method", sa.String(length=60), nullable=True),
        sa.Column("requested_by_id", sa.Uuid(), nullable=False),
        sa.Column("requested_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("reviewed_by_id", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("reject_reason", sa.String(length=500), nullable=True),
        sa.Column("paid_by_id", sa.Uuid(), nullable=True),
        sa.Column("provider_reference", sa.String(length=100), nullable=True),
        sa.Column("bank_reference", sa.String(length=100), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=100), nullable=True),
        sa.Column("pay_key", sa.String(length=100), nullable=True),
        sa.Column("payout_key", sa.String(length=100), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("org_unit_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("anonymised_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("custom", sdk.JSONValues, nullable=False, server_default=sa.text("'{}'")),
        sa.CheckConstraint(f"status in ({STATUSES})", name=op.f("ck_disbursement_orders_status")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_disbursement_orders_amount")),
        sa.CheckConstraint(
            "reviewed_by_id is null or reviewed_by_id <> requested_by_id",
            name=op.f("ck_disbursement_orders_maker_checker"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "org_unit_id"],
            ["org_units.tenant_id", "org_units.id"],
            name=op.f("fk_disbursement_orders_tenant_id_org_unit_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "owner_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_disbursement_orders_tenant_id_owner_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_disbursement_orders_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_disbursement_orders")),
    )
    with op.batch_alter_table("disbursement_orders", schema=None) as batch_op:
        for name, columns, unique in (
            ("number", ["tenant_id", "number"], True),
            ("loan", ["tenant_id", "loan_id"], False),
            ("status", ["tenant_id", "status"], False),
            ("scope", ["tenant_id", "org_unit_id", "owner_id"], False),
            ("request_key", ["tenant_id", "request_key"], True),
            ("pay_key", ["tenant_id", "pay_key"], True),
            ("payout_key", ["tenant_id", "payout_key"], True),
        ):
            batch_op.create_index(f"ix_disbursement_orders_{name}", columns, unique=unique)
        batch_op.create_index(
            batch_op.f("ix_disbursement_orders_account_number_hash"),
            ["account_number_hash"],
            unique=False,
        )
    sdk.enable_rls(op, "disbursement_orders")

    op.create_table(
        "disbursement_order_shares",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("funder_id", sa.Uuid(), nullable=True),
        sa.Column("funder_name", sa.String(length=100), nullable=False),
        sa.Column("share", sa.Integer(), nullable=False),
        sa.Column("amount", sdk.Money(), nullable=False),
        sa.CheckConstraint(
            "share > 0 and share <= 1000000", name=op.f("ck_disbursement_order_shares_share")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["disbursement_orders.tenant_id", "disbursement_orders.id"],
            name=op.f("fk_disbursement_order_shares_tenant_id_order_id_disbursement_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_disbursement_order_shares_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_disbursement_order_shares")),
    )
    with op.batch_alter_table("disbursement_order_shares", schema=None) as batch_op:
        batch_op.create_index(
            "ix_disbursement_order_shares_order",
            ["tenant_id", "order_id", "position"],
            unique=True,
        )
    sdk.enable_rls(op, "disbursement_order_shares")


def downgrade() -> None:
    op.drop_table("disbursement_order_shares")
    op.drop_table("disbursement_orders")
