"""schedule state

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_state",
        sa.Column("schedule", sa.String(length=100), nullable=False),
        sa.Column("tenant_key", sa.String(length=36), nullable=False),
        sa.Column("last_due_at", UTCDateTime(), nullable=False),
        sa.Column("fired_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("schedule", "tenant_key", name=op.f("pk_schedule_state")),
    )


def downgrade() -> None:
    op.drop_table("schedule_state")
