"""sms_tencent: drop the daily limit's tables; the core's outbox counts every channel's
messages now (notification_daily_counts). Downgrade recreates them empty.

Revision ID: st002
Revises: st001
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "st002"
down_revision = "st001"
branch_labels = None
depends_on = "0031"


def _owned(name: str) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{name}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{name}")),
    ]


def upgrade() -> None:
    op.drop_table("sms_tencent_counted_messages")
    op.drop_table("sms_tencent_daily_counts")


def downgrade() -> None:
    op.create_table(
        "sms_tencent_daily_counts",
        *_owned("sms_tencent_daily_counts"),
        sa.Column("mobile_hash", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.UniqueConstraint(
            "tenant_id",
            "mobile_hash",
            "day",
            name=op.f("uq_sms_tencent_daily_counts_tenant_id_mobile_hash_day"),
        ),
    )
    op.create_table(
        "sms_tencent_counted_messages",
        *_owned("sms_tencent_counted_messages"),
        sa.Column("message_key", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.UniqueConstraint(
            "tenant_id",
            "message_key",
            name=op.f("uq_sms_tencent_counted_messages_tenant_id_message_key"),
        ),
    )
    for table in ("sms_tencent_daily_counts", "sms_tencent_counted_messages"):
        sdk.enable_rls(op, table)
