"""the daily limit per address moves to the core: one table of counts per channel, hashed
address and tenant-local day, and the day each message was counted on

Revision ID: 0031
Revises: 0030
"""

import sqlalchemy as sa
from alembic import op

from loandesk.tenancy import rls

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

COUNTS = "notification_daily_counts"


def upgrade() -> None:
    op.create_table(
        COUNTS,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{COUNTS}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{COUNTS}")),
        sa.UniqueConstraint(
            "tenant_id",
            "channel",
            "address_hash",
            "day",
            name=op.f(f"uq_{COUNTS}_tenant_id_channel_address_hash_day"),
        ),
    )
    rls.enable(op, COUNTS)
    with op.batch_alter_table("notification_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counted_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notification_messages", schema=None) as batch_op:
        batch_op.drop_column("counted_on")
    rls.disable(op, COUNTS)
    op.drop_table(COUNTS)
