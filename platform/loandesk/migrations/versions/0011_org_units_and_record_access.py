"""org units, users' unit, API clients acting for a user, and each role's access to record types (data scope, fields, export)

Revision ID: 0011
Revises: 0010
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime, uuid7
from loandesk.tenancy import rls

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "org_units",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("head_user_id", sa.Uuid(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind in ('company', 'branch', 'team')", name=op.f("ck_org_units_kind")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "parent_id"],
            ["org_units.tenant_id", "org_units.id"],
            name=op.f("fk_org_units_tenant_id_parent_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "head_user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_org_units_tenant_id_head_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_org_units_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_org_units")),
    )
    op.create_table(
        "role_record_access",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("role_id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("export", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "scope in ('own', 'team', 'unit', 'all')", name=op.f("ck_role_record_access_scope")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "role_id"],
            ["roles.tenant_id", "roles.id"],
            name=op.f("fk_role_record_access_tenant_id_role_id_roles"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_role_record_access_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_role_record_access")),
        sa.UniqueConstraint(
            "tenant_id",
            "role_id",
            "record_type",
            name=op.f("uq_role_record_access_tenant_id_role_id_record_type"),
        ),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("org_unit_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_org_unit_id"), ["org_unit_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_users_tenant_id_org_unit_id_org_units"),
            "org_units",
            ["tenant_id", "org_unit_id"],
            ["tenant_id", "id"],
        )
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acts_as_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_api_clients_tenant_id_acts_as_id_users"),
            "users",
            ["tenant_id", "acts_as_id"],
            ["tenant_id", "id"],
        )
    for table in ("org_units", "role_record_access"):
        rls.enable(op, table)
    _seed_company_units()


def _seed_company_units() -> None:
    """Every existing tenant gets its company as the root unit, holding all its staff."""
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    units = sa.table(
        "org_units",
        sa.column("tenant_id", sa.Uuid),
        sa.column("id", sa.Uuid),
        sa.column("parent_id", sa.Uuid),
        sa.column("name", sa.String),
        sa.column("kind", sa.String),
        sa.column("head_user_id", sa.Uuid),
        sa.column("position", sa.Integer),
        sa.column("created_at", UTCDateTime()),
    )
    users = sa.table("users", sa.column("tenant_id", sa.Uuid), sa.column("org_unit_id", sa.Uuid))
    tenants = sa.table("tenants", sa.column("id", sa.Uuid), sa.column("name", sa.String))
    now = datetime.now(UTC)
    for tenant_id, name in list(bind.execute(sa.select(tenants.c.id, tenants.c.name))):
        if postgres:
            bind.execute(
                sa.text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
            )
        unit_id = uuid7()
        bind.execute(
            units.insert().values(
                tenant_id=tenant_id,
                id=unit_id,
                parent_id=None,
                name=name[:100],
                kind="company",
                head_user_id=None,
                position=0,
                created_at=now,
            )
        )
        bind.execute(
            users.update().where(users.c.tenant_id == tenant_id).values(org_unit_id=unit_id)
        )
    if postgres:
        bind.execute(sa.text("select set_config('app.tenant_id', '', true)"))


def downgrade() -> None:
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_api_clients_tenant_id_acts_as_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("acts_as_id")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_users_tenant_id_org_unit_id_org_units"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_users_org_unit_id"))
        batch_op.drop_column("org_unit_id")
    op.drop_table("role_record_access")
    op.drop_table("org_units")
