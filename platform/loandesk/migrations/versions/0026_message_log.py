"""the log of messages to borrowers: an index for its newest-first pages, and existing
tenants' built-in post-loan admin and auditor roles get ``notifications.read_log`` as new
tenants' do

Revision ID: 0026
Revises: 0025
"""

from alembic import op

from loandesk.rbac.migration_grants import change_builtin_roles

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

# What new tenants' built-in roles get from loandesk.rbac.catalog, as it was at this revision.
GRANTS = {"post_loan_admin": ("notifications.read_log",), "auditor": ("notifications.read_log",)}
NEW_PERMISSIONS = ("notifications.read_log", "notifications.manage")


def upgrade() -> None:
    with op.batch_alter_table("notification_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_messages_log", ["tenant_id", "audience", "created_at"], unique=False
        )
    change_builtin_roles(op, GRANTS, NEW_PERMISSIONS, add=True)


def downgrade() -> None:
    change_builtin_roles(op, GRANTS, NEW_PERMISSIONS, add=False)
    with op.batch_alter_table("notification_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_messages_log")
