"""custom fields: field definitions, form sections and published form versions per tenant

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.tenancy import rls

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TENANT_OWNED = ("field_definitions", "form_sections", "form_versions")


def _tenant(table: str) -> list[sa.Constraint]:
    return [
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{table}"),
    ]


def upgrade() -> None:
    op.create_table(
        "field_definitions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("label_zh", sa.String(length=60), nullable=False),
        sa.Column("label_en", sa.String(length=60), nullable=False),
        sa.Column("help_zh", sa.String(length=200), nullable=False),
        sa.Column("help_en", sa.String(length=200), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("default", sa.JSON(), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("section", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("condition", sa.Text(), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("searchable", sa.Boolean(), nullable=False),
        sa.Column("removed_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        *_tenant("field_definitions"),
        sa.UniqueConstraint(
            "tenant_id",
            "record_type",
            "key",
            name="uq_field_definitions_tenant_id_record_type_key",
        ),
    )
    op.create_table(
        "form_sections",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("label_zh", sa.String(length=60), nullable=False),
        sa.Column("label_en", sa.String(length=60), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        *_tenant("form_sections"),
        sa.UniqueConstraint(
            "tenant_id", "record_type", "key", name="uq_form_sections_tenant_id_record_type_key"
        ),
    )
    op.create_table(
        "form_versions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("layout", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("published_by_id", sa.Uuid(), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        *_tenant("form_versions"),
        sa.UniqueConstraint(
            "tenant_id",
            "record_type",
            "number",
            name="uq_form_versions_tenant_id_record_type_number",
        ),
    )
    for table in TENANT_OWNED:
        rls.enable(op, table)


def downgrade() -> None:
    for table in reversed(TENANT_OWNED):
        rls.disable(op, table)
        op.drop_table(table)
