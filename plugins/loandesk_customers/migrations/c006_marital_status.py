"""customers: marital status (婚姻状况)

Revision ID: c006
Revises: c005
"""

import sqlalchemy as sa
from alembic import op

revision = "c006"
down_revision = "c005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers_customers", sa.Column("marital_status", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers_customers") as batch:
        batch.drop_column("marital_status")
