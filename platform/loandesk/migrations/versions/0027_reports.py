"""saved reports: a named report spec over a dataset, its chart type, its owner and the roles
it is shared with; existing tenants' built-in risk managers get ``reports.manage`` as new
tenants' do

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.rbac.migration_grants import change_builtin_roles
from loandesk.tenancy import rls

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

# What new tenants' built-in roles get from loandesk.rbac.catalog, as it was at this revision.
GRANTS = {"risk_manager": ("reports.manage",)}
NEW_PERMISSIONS = ("reports.manage",)


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("dataset", sa.String(length=80), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("chart_type", sa.String(length=20), nullable=False),
        sa.Column("shared_with_roles", sa.JSON(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "owner_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_reports_tenant_id_owner_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_reports_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_reports")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_reports_tenant_id_name")),
    )
    rls.enable(op, "reports")
    change_builtin_roles(op, GRANTS, NEW_PERMISSIONS, add=True)


def downgrade() -> None:
    change_builtin_roles(op, GRANTS, NEW_PERMISSIONS, add=False)
    rls.disable(op, "reports")
    op.drop_table("reports")
