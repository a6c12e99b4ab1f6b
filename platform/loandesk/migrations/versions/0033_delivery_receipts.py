"""delivery receipts: each message's delivery to the handset (delivered or not, when, the
provider's detail), found by its channel and provider id

Revision ID: 0033
Revises: 0032
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notification_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("delivery_detail", sa.String(length=300), nullable=False, server_default="")
        )
        batch_op.create_check_constraint(
            op.f("ck_notification_messages_delivery"), "delivery in ('delivered', 'undelivered')"
        )
        batch_op.create_index(
            "ix_notification_messages_provider", ["tenant_id", "channel", "provider_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_messages_provider")
        batch_op.drop_constraint(op.f("ck_notification_messages_delivery"), type_="check")
        batch_op.drop_column("delivery_detail")
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("delivery")
