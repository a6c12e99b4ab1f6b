"""dingtalk: the staff members' DingTalk userids move to the core's staff_external_accounts
(provider "dingtalk"), and dingtalk_staff_accounts goes

Revision ID: dt003
Revises: dt002

The downgrade brings the table back (with dt002's unique userid) and moves the rows back.
"""

from alembic import op

from loandesk import sdk

revision = "dt003"
down_revision = "dt002"
branch_labels = None
depends_on = "0035"

TABLE = "dingtalk_staff_accounts"


def upgrade() -> None:
    sdk.move_staff_accounts(op, table=TABLE, column="dingtalk_userid", provider="dingtalk",
                            into_core=True)  # fmt: skip
    op.drop_table(TABLE)


def downgrade() -> None:
    sdk.restore_staff_accounts(op, table=TABLE, column="dingtalk_userid", provider="dingtalk",
                               unique_external_id=True)  # fmt: skip
