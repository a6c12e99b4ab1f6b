"""staff_external_accounts: each staff member's account at an outside provider (a plugin's
name: their DingTalk userid, their WeCom userid, ...), one table for every plugin

Revision ID: 0035
Revises: 0034
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.tenancy import rls

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

TABLE = "staff_external_accounts"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{TABLE}_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f(f"fk_{TABLE}_tenant_id_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint(
            "tenant_id", "provider", "user_id", name=op.f(f"uq_{TABLE}_tenant_id_provider_user_id")
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "provider",
            "external_id",
            name=op.f(f"uq_{TABLE}_tenant_id_provider_external_id"),
        ),
    )
    rls.enable(op, TABLE)


def downgrade() -> None:
    rls.disable(op, TABLE)
    op.drop_table(TABLE)
