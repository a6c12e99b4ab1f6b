"""wecom: the staff members' WeCom userids move to the core's staff_external_accounts
(provider "wecom"), one staff member per userid, and wecom_staff_accounts goes

Revision ID: wc002
Revises: wc001

A userid linked to two staff members before this revision stops the upgrade with their tenant
and the userid, for an administrator to unlink one (PUT /api/v1/wecom/staff/<user_id> with
null); nothing is changed until then. The downgrade brings the table back and moves the rows
back.
"""

import uuid

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "wc002"
down_revision = "wc001"
branch_labels = None
depends_on = "0033"

TABLE = "wecom_staff_accounts"


def upgrade() -> None:
    shared = sdk.shared_staff_accounts(op, table=TABLE, column="wecom_userid")
    if shared:
        lines = [f"tenant {uuid.UUID(str(t))} userid {userid}" for t, userid in shared]
        raise RuntimeError(
            "wc002 makes a WeCom userid one staff member's, but these are linked to "
            "several:\n  " + "\n  ".join(lines) + "\nUnlink all but one of each "
            "(PUT /api/v1/wecom/staff/<user_id> with null), then run `loandesk db upgrade` "
            "again (nothing was changed by this revision)."
        )
    sdk.move_staff_accounts(op, table=TABLE, column="wecom_userid", provider="wecom",
                            into_core=True)  # fmt: skip
    op.drop_table(TABLE)


def downgrade() -> None:
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
    sdk.move_staff_accounts(op, table=TABLE, column="wecom_userid", provider="wecom",
                            into_core=False)  # fmt: skip
