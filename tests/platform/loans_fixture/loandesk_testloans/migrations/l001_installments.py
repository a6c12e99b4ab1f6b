"""testloans: installments

Revision ID: l001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "l001"
down_revision = None
branch_labels = ("testloans",)
depends_on = "0004"


def upgrade() -> None:
    op.create_table(
        "testloans_installments",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_number", sa.String(length=20), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount", sdk.Money(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("org_unit_id", sa.Uuid(), nullable=True),
        sa.Column("mobile_enc", sa.Text(), nullable=True),
        sa.Column("mobile_hash", sa.String(length=64), nullable=True),
        sa.Column("custom", sdk.JSONValues, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_testloans_installments"),
    )
    op.create_index(
        "ix_testloans_installments_due", "testloans_installments", ["tenant_id", "due_date"]
    )
    sdk.enable_rls(op, "testloans_installments")


def downgrade() -> None:
    op.drop_table("testloans_installments")
