"""dashboards: saved reports on a grid with global filters, and each role's default dashboard
(``reports.manage``, granted by 0027, governs both)

Revision ID: 0028
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.tenancy import rls

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboards",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tiles", sa.JSON(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("refresh_seconds", sa.Integer(), nullable=True),
        sa.Column("shared_with_roles", sa.JSON(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "owner_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_dashboards_tenant_id_owner_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_dashboards_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_dashboards")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_dashboards_tenant_id_name")),
    )
    rls.enable(op, "dashboards")
    op.create_table(
        "role_dashboards",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("role_id", sa.Uuid(), nullable=False),
        sa.Column("dashboard_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "dashboard_id"],
            ["dashboards.tenant_id", "dashboards.id"],
            name=op.f("fk_role_dashboards_tenant_id_dashboard_id_dashboards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "role_id"],
            ["roles.tenant_id", "roles.id"],
            name=op.f("fk_role_dashboards_tenant_id_role_id_roles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_role_dashboards_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_role_dashboards")),
        sa.UniqueConstraint(
            "tenant_id", "role_id", name=op.f("uq_role_dashboards_tenant_id_role_id")
        ),
    )
    rls.enable(op, "role_dashboards")


def downgrade() -> None:
    rls.disable(op, "role_dashboards")
    op.drop_table("role_dashboards")
    rls.disable(op, "dashboards")
    op.drop_table("dashboards")
