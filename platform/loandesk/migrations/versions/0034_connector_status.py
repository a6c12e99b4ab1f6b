"""connector status: each tenant's connectors' last success and last error

Revision ID: 0034
Revises: 0033
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.tenancy import rls

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

TABLE = "connector_status"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("last_success_at", UTCDateTime(), nullable=True),
        sa.Column("last_success_detail", sa.String(length=300), nullable=False),
        sa.Column("last_error_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{TABLE}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f(f"uq_{TABLE}_tenant_id_key")),
    )
    rls.enable(op, TABLE)


def downgrade() -> None:
    rls.disable(op, TABLE)
    op.drop_table(TABLE)
