"""customers: when a customer's personal data was anonymised

Revision ID: c002
Revises: c001
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "c002"
down_revision = "c001"
branch_labels = None
depends_on = "0014"


def upgrade() -> None:
    with op.batch_alter_table("customers_customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("anonymised_at", sdk.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers_customers", schema=None) as batch_op:
        batch_op.drop_column("anonymised_at")
