"""automation rules: the schedule trigger's last due time (a cron over a saved filter)

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("automation_rules") as batch:
        batch.add_column(sa.Column("last_due_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("automation_rules") as batch:
        batch.drop_column("last_due_at")
