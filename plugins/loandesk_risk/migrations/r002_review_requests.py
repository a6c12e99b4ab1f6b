"""risk: every value a decision could read, and the borrower's request for a person to decide

Revision ID: r002
Revises: r001
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "r002"
down_revision = "r001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("risk_decisions") as batch:
        batch.add_column(sa.Column("context", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("review_requested_at", sdk.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("review_requested_by_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("review_channel", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("review_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("risk_decisions") as batch:
        for name in (
            "review_note",
            "review_channel",
            "review_requested_by_id",
            "review_requested_at",
            "context",
        ):
            batch.drop_column(name)
