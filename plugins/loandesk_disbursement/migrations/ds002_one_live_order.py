"""disbursement: one live order per loan, enforced by the database

Revision ID: ds002
Revises: ds001
"""

import sqlalchemy as sa
from alembic import op

revision = "ds002"
down_revision = "ds001"
branch_labels = None
depends_on = None

LIVE_WHERE = "status IN ('requested', 'approved', 'paying', 'failed', 'paid')"


def upgrade() -> None:
    op.create_index(
        "ix_disbursement_orders_one_live",
        "disbursement_orders",
        ["tenant_id", "loan_id"],
        unique=True,
        sqlite_where=sa.text(LIVE_WHERE),
        postgresql_where=sa.text(LIVE_WHERE),
    )


def downgrade() -> None:
    op.drop_index("ix_disbursement_orders_one_live", table_name="disbursement_orders")
