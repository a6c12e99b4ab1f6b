"""saved list views: each user's named columns, filters and sort per record type

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.tenancy import rls

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "list_views",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("sort", sa.String(length=50), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_list_views_tenant_id_tenants"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_list_views_tenant_id_user_id_users",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_list_views"),
        sa.UniqueConstraint(
            "tenant_id",
            "user_id",
            "record_type",
            "name",
            name="uq_list_views_tenant_id_user_id_record_type_name",
        ),
    )
    op.create_index("ix_list_views_user", "list_views", ["tenant_id", "user_id", "record_type"])
    rls.enable(op, "list_views")


def downgrade() -> None:
    rls.disable(op, "list_views")
    op.drop_index("ix_list_views_user", table_name="list_views")
    op.drop_table("list_views")
