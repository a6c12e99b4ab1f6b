"""wecom: each staff member's WeCom userid

Revision ID: wc001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "wc001"
down_revision = None
branch_labels = ("wecom",)
depends_on = "0029"

TABLE = "wecom_staff_accounts"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("wecom_userid", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{TABLE}_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f(f"fk_{TABLE}_tenant_id_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("tenant_id", "user_id", name=op.f(f"uq_{TABLE}_tenant_id_user_id")),
    )
    sdk.enable_rls(op, TABLE)


def downgrade() -> None:
    op.drop_table(TABLE)
