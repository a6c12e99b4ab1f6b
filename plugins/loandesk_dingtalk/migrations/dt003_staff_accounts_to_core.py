"""dingtalk: the staff members' DingTalk userids move to the core's staff_external_accounts
(provider "dingtalk"), and dingtalk_staff_accounts goes

Revision ID: dt003
Revises: dt002

The downgrade brings the table back (with dt002's unique userid) and moves the rows back.
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "dt003"
down_revision = "dt002"
branch_labels = None
depends_on = "0033"

TABLE = "dingtalk_staff_accounts"


def upgrade() -> None:
    sdk.move_staff_accounts(op, table=TABLE, column="dingtalk_userid", provider="dingtalk",
                            into_core=True)  # fmt: skip
    op.drop_table(TABLE)


def downgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("dingtalk_userid", sa.String(length=64), nullable=False),
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
        sa.UniqueConstraint(
            "tenant_id", "dingtalk_userid", name=op.f(f"uq_{TABLE}_tenant_id_dingtalk_userid")
        ),
    )
    sdk.enable_rls(op, TABLE)
    sdk.move_staff_accounts(op, table=TABLE, column="dingtalk_userid", provider="dingtalk",
                            into_core=False)  # fmt: skip
