"""the log of messages to borrowers: an index for its newest-first pages, and existing
tenants' built-in post-loan admin and auditor roles get ``notifications.read_log`` as new
tenants' do

Revision ID: 0026
Revises: 0025
"""

import json

import sqlalchemy as sa
from alembic import op

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
    _change_builtin_roles(add=True)


def _change_builtin_roles(*, add: bool) -> None:
    """Existing tenants' built-in roles get what new tenants' get (or lose it again). Runs per
    tenant with app.tenant_id set: FORCE ROW LEVEL SECURITY binds the owner role too."""
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    roles = sa.table(
        "roles",
        sa.column("tenant_id", sa.Uuid),
        sa.column("id", sa.Uuid),
        sa.column("key", sa.String),
        sa.column("builtin", sa.Boolean),
        sa.column("permissions", sa.JSON),
    )
    tenants = sa.table("tenants", sa.column("id", sa.Uuid))
    for tenant_id in list(bind.execute(sa.select(tenants.c.id)).scalars()):
        if postgres:
            bind.execute(
                sa.text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
            )
        rows = bind.execute(
            sa.select(roles.c.id, roles.c.key, roles.c.builtin, roles.c.permissions).where(
                roles.c.tenant_id == tenant_id
            )
        ).all()
        for role_id, key, builtin, permissions in rows:
            held = json.loads(permissions) if isinstance(permissions, str) else list(permissions)
            if add:
                wanted = sorted({*held, *GRANTS.get(key, ())}) if builtin else held
            else:
                wanted = [p for p in held if p not in NEW_PERMISSIONS]
            if wanted != held:
                bind.execute(
                    roles.update()
                    .where(roles.c.tenant_id == tenant_id, roles.c.id == role_id)
                    .values(permissions=wanted)
                )
    if postgres:
        bind.execute(sa.text("select set_config('app.tenant_id', '', true)"))


def downgrade() -> None:
    _change_builtin_roles(add=False)
    with op.batch_alter_table("notification_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_messages_log")
