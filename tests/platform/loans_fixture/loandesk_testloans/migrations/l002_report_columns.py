"""testloans: what an overdue-rate report needs — the borrower's region and province, the
principal still owed, days past due

Revision ID: l002
Revises: l001
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "l002"
down_revision = "l001"
branch_labels = None
depends_on = None

TABLE = "testloans_installments"


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("region", sa.String(length=6), nullable=True))
    op.add_column(TABLE, sa.Column("province", sa.String(length=6), nullable=True))
    op.add_column(
        TABLE,
        sa.Column("principal_outstanding", sdk.Money(), nullable=False, server_default="0"),
    )
    op.add_column(
        TABLE, sa.Column("days_past_due", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    for column in ("days_past_due", "principal_outstanding", "province", "region"):
        op.drop_column(TABLE, column)
