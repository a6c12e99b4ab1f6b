"""customers: the values of a tenant's custom fields

Revision ID: c003
Revises: c002
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "c003"
down_revision = "c002"
branch_labels = None
depends_on = "0015"


def upgrade() -> None:
    with op.batch_alter_table("customers_customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("custom", sdk.JSONValues, nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("customers_customers", schema=None) as batch_op:
        batch_op.drop_column("custom")
