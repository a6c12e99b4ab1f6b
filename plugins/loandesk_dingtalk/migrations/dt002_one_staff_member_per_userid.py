"""dingtalk: one staff member per DingTalk userid (sign-in and work notifications rely on it)

Revision ID: dt002
Revises: dt001

A userid linked to two staff members before this revision stops the upgrade with their tenant
and the userid, for an administrator to unlink one (Administration → DingTalk staff); nothing
is changed until then.
"""

import uuid
from typing import Any

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "dt002"
down_revision = "dt001"
branch_labels = None
depends_on = None

TABLE = "dingtalk_staff_accounts"
NAME = "uq_dingtalk_staff_accounts_tenant_id_dingtalk_userid"


def upgrade() -> None:
    accounts = sa.table(
        TABLE, sa.column("tenant_id", sa.Uuid), sa.column("dingtalk_userid", sa.String)
    )
    shared: list[Any] = []
    for tenant in sdk.each_tenant(op):  # row-level security shows the tenant set, owner too
        shared += (
            op.get_bind()
            .execute(
                sa.select(accounts.c.tenant_id, accounts.c.dingtalk_userid)
                .where(accounts.c.tenant_id == tenant)
                .group_by(accounts.c.tenant_id, accounts.c.dingtalk_userid)
                .having(sa.func.count() > 1)
            )
            .all()
        )
    if shared:
        lines = [f"tenant {uuid.UUID(str(t))} userid {userid}" for t, userid in shared]
        raise RuntimeError(
            "dt002 makes a DingTalk userid one staff member's, but these are linked to "
            "several:\n  " + "\n  ".join(lines) + "\nUnlink all but one of each "
            "(PUT /api/v1/dingtalk/staff/<user_id> with null), then run `loandesk db upgrade` "
            "again (nothing was changed by this revision)."
        )
    with op.batch_alter_table(TABLE) as batch:
        batch.create_unique_constraint(NAME, ["tenant_id", "dingtalk_userid"])


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_constraint(NAME, type_="unique")
