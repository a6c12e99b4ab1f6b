"""Excel imports: uploaded batches, their rows as the preview found them, and the fingerprints
of imported rows

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.tenancy import rls

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TENANT_OWNED = ("import_batches", "import_rows", "imported_rows")


def _tenant(table: str) -> list[sa.Constraint]:
    return [
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{table}"),
    ]


def upgrade() -> None:
    op.create_table(
        "import_batches",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("problem", sa.String(length=500), nullable=True),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("ok_rows", sa.Integer(), nullable=False),
        sa.Column("error_rows", sa.Integer(), nullable=False),
        sa.Column("duplicate_rows", sa.Integer(), nullable=False),
        sa.Column("imported_rows", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        *_tenant("import_batches"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["users.tenant_id", "users.id"],
            name="fk_import_batches_tenant_id_created_by_id_users",
        ),
    )
    op.create_index(
        "ix_import_batches_record_type",
        "import_batches",
        ["tenant_id", "record_type", "created_at"],
    )
    op.create_table(
        "import_rows",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        *_tenant("import_rows"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "batch_id"],
            ["import_batches.tenant_id", "import_batches.id"],
            name="fk_import_rows_tenant_id_batch_id_import_batches",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "tenant_id", "batch_id", "row", name="uq_import_rows_tenant_id_batch_id_row"
        ),
    )
    op.create_index(
        "ix_import_rows_status", "import_rows", ["tenant_id", "batch_id", "status", "row"]
    )
    op.create_table(
        "imported_rows",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        *_tenant("imported_rows"),
        sa.UniqueConstraint(
            "tenant_id",
            "record_type",
            "fingerprint",
            name="uq_imported_rows_tenant_id_record_type_fingerprint",
        ),
    )
    for table in TENANT_OWNED:
        rls.enable(op, table)


def downgrade() -> None:
    for table in reversed(TENANT_OWNED):
        rls.disable(op, table)
        op.drop_table(table)
