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

from alembic import op

from loandesk import sdk

revision = "wc002"
down_revision = "wc001"
branch_labels = None
depends_on = "0035"

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
    sdk.restore_staff_accounts(op, table=TABLE, column="wecom_userid", provider="wecom",
                               unique_external_id=False)  # fmt: skip
