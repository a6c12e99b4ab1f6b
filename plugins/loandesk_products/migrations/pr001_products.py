"""products: loan products and their immutable versions

Revision ID: pr001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "pr001"
down_revision = None
branch_labels = ("products",)
depends_on = "0029"


def upgrade() -> None:
    op.create_table(
        "products_products",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
        sa.CheckConstraint("latest_version >= 1", name=op.f("ck_products_products_latest_version")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_products_products_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_products_products")),
    )
    op.create_index(
        "ix_products_products_code", "products_products", ["tenant_id", "code"], unique=True
    )
    sdk.enable_rls(op, "products_products")

    op.create_table(
        "products_versions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("terms", sdk.JSONValues, nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.CheckConstraint("number >= 1", name=op.f("ck_products_versions_number")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products_products.tenant_id", "products_products.id"],
            name=op.f("fk_products_versions_tenant_id_product_id_products_products"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_products_versions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_products_versions")),
    )
    op.create_index(
        "ix_products_versions_number",
        "products_versions",
        ["tenant_id", "product_id", "number"],
        unique=True,
    )
    sdk.enable_rls(op, "products_versions")


def downgrade() -> None:
    op.drop_table("products_versions")
    op.drop_table("products_products")
