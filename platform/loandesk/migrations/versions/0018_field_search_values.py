"""field search values: searchable custom field values as sortable text, indexed (PostgreSQL
filters under row-level security)

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

from loandesk.fields.models import SearchText
from loandesk.tenancy import rls

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "field_search_values",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", SearchText, nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_field_search_values_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_field_search_values"),
    )
    op.create_index(
        "ix_field_search_values_lookup",
        "field_search_values",
        ["tenant_id", "record_type", "key", "value", "record_id"],
    )
    op.create_index(
        "ix_field_search_values_record", "field_search_values", ["tenant_id", "record_id"]
    )
    rls.enable(op, "field_search_values")


def downgrade() -> None:
    rls.disable(op, "field_search_values")
    op.drop_table("field_search_values")
