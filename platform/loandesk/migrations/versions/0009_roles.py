"""roles: built-in roles for every tenant; admins move from users.is_admin to a role

Revision ID: 0009
Revises: 0008
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime, uuid7
from loandesk.rbac.catalog import ADMIN_ROLE, BUILTIN_ROLES
from loandesk.tenancy import rls

TENANT_OWNED = ("roles", "user_roles")

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roles",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=60), nullable=False),
        sa.Column("name_en", sa.String(length=60), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_roles_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_roles")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_roles_tenant_id_key")),
    )
    op.create_table(
        "user_roles",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "role_id"],
            ["roles.tenant_id", "roles.id"],
            name=op.f("fk_user_roles_tenant_id_role_id_roles"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_user_roles_tenant_id_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_user_roles_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_user_roles")),
        sa.UniqueConstraint(
            "tenant_id", "user_id", "role_id", name=op.f("uq_user_roles_tenant_id_user_id_role_id")
        ),
    )
    for table in TENANT_OWNED:
        rls.enable(op, table)
    _seed_roles_and_move_admins()
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("is_admin")


def _seed_roles_and_move_admins() -> None:
    """Each existing tenant gets the built-in roles; its admins get the admin role. Runs per
    tenant with app.tenant_id set: FORCE ROW LEVEL SECURITY binds the owner role too."""
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    roles = sa.table(
        "roles",
        sa.column("tenant_id", sa.Uuid),
        sa.column("id", sa.Uuid),
        sa.column("key", sa.String),
        sa.column("name_zh", sa.String),
        sa.column("name_en", sa.String),
        sa.column("description", sa.String),
        sa.column("builtin", sa.Boolean),
        sa.column("permissions", sa.JSON),
        sa.column("created_at", UTCDateTime()),
    )
    user_roles = sa.table(
        "user_roles",
        sa.column("tenant_id", sa.Uuid),
        sa.column("id", sa.Uuid),
        sa.column("user_id", sa.Uuid),
        sa.column("role_id", sa.Uuid),
    )
    users = sa.table(
        "users",
        sa.column("tenant_id", sa.Uuid),
        sa.column("id", sa.Uuid),
        sa.column("is_admin", sa.Boolean),
    )
    tenants = sa.table("tenants", sa.column("id", sa.Uuid))
    now = datetime.now(UTC)
    for tenant_id in list(bind.execute(sa.select(tenants.c.id)).scalars()):
        if postgres:
            bind.execute(
                sa.text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
            )
        admin_role = None
        for builtin in BUILTIN_ROLES:
            role_id = uuid7()
            bind.execute(
                roles.insert().values(
                    tenant_id=tenant_id,
                    id=role_id,
                    key=builtin.key,
                    name_zh=builtin.name_zh,
                    name_en=builtin.name_en,
                    description="",
                    builtin=True,
                    permissions=list(builtin.permissions),
                    created_at=now,
                )
            )
            if builtin.key == ADMIN_ROLE:
                admin_role = role_id
        admins = bind.execute(
            sa.select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.is_admin.is_(True))
        ).scalars()
        for user_id in list(admins):
            bind.execute(
                user_roles.insert().values(
                    tenant_id=tenant_id, id=uuid7(), user_id=user_id, role_id=admin_role
                )
            )
    if postgres:
        bind.execute(sa.text("select set_config('app.tenant_id', '', true)"))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_admin", sa.BOOLEAN(), nullable=False, server_default=sa.false())
        )
    for table in reversed(TENANT_OWNED):
        rls.disable(op, table)

    op.drop_table("user_roles")
    op.drop_table("roles")
