"""disbursement: an alert on an order when a provider reports a payout it did not record

Revision ID: ds003
Revises: ds002
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "ds003"
down_revision = "ds002"
branch_labels = None
depends_on = None

# the table keeps its row-level security policy (ds001): new columns need none of their own


def upgrade() -> None:
    with op.batch_alter_table("disbursement_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("alert_at", sdk.UTCDateTime(), nullable=True))
    op.create_index(
        "ix_disbursement_orders_alert",
        "disbursement_orders",
        ["tenant_id", "alert_at"],
        unique=False,
        sqlite_where=sa.text("alert_at IS NOT NULL"),
        postgresql_where=sa.text("alert_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_disbursement_orders_alert", table_name="disbursement_orders")
    with op.batch_alter_table("disbursement_orders", schema=None) as batch_op:
        batch_op.drop_column("alert_at")
        batch_op.drop_column("alert")
