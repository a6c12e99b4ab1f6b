"""intake: products, documents on applications, the in-review and contracted statuses, and
the idempotency key of an application created through the API

Revision ID: i003
Revises: i002
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "i003"
down_revision = "i002"
branch_labels = None
depends_on = None

NEW = (
    "status in ('draft', 'submitted', 'in_review', 'returned', 'approved', 'rejected', "
    "'withdrawn', 'contracted')"
)
OLD = "status in ('draft', 'submitted', 'returned', 'approved', 'rejected', 'withdrawn')"


def upgrade() -> None:
    op.create_table(
        "intake_products",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("min_amount", sdk.Money(), nullable=False),
        sa.Column("max_amount", sdk.Money(), nullable=False),
        sa.Column("min_term_months", sa.Integer(), nullable=False),
        sa.Column("max_term_months", sa.Integer(), nullable=False),
        sa.Column("max_exposure", sdk.Money(), nullable=True),
        sa.Column("required_documents", sdk.JSONValues, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "min_amount > 0 and max_amount >= min_amount", name=op.f("ck_intake_products_amounts")
        ),
        sa.CheckConstraint(
            "min_term_months >= 1 and max_term_months <= 360 "
            "and max_term_months >= min_term_months",
            name=op.f("ck_intake_products_terms"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_intake_products_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_intake_products")),
    )
    op.create_index(
        "ix_intake_products_code", "intake_products", ["tenant_id", "code"], unique=True
    )
    sdk.enable_rls(op, "intake_products")

    with op.batch_alter_table("intake_applications") as batch:
        batch.add_column(sa.Column("product_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("idempotency_key", sa.String(length=100), nullable=True))
        batch.create_foreign_key(
            op.f("fk_intake_applications_tenant_id_product_id_intake_products"),
            "intake_products",
            ["tenant_id", "product_id"],
            ["tenant_id", "id"],
        )
        batch.create_index(
            "ix_intake_applications_idempotency_key", ["tenant_id", "idempotency_key"], unique=True
        )
        batch.drop_constraint(op.f("ck_intake_applications_status"), type_="check")
        batch.create_check_constraint(op.f("ck_intake_applications_status"), NEW)

    op.create_table(
        "intake_documents",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("attachment_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "application_id"],
            ["intake_applications.tenant_id", "intake_applications.id"],
            name=op.f("fk_intake_documents_tenant_id_application_id_intake_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "attachment_id"],
            ["attachments.tenant_id", "attachments.id"],
            name=op.f("fk_intake_documents_tenant_id_attachment_id_attachments"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_intake_documents_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_intake_documents")),
    )
    op.create_index(
        "ix_intake_documents_application",
        "intake_documents",
        ["tenant_id", "application_id", "kind"],
    )
    sdk.enable_rls(op, "intake_documents")


def downgrade() -> None:
    op.drop_table("intake_documents")
    for _tenant in sdk.each_tenant(op):  # row-level security: one tenant's rows at a time
        op.execute("update intake_applications set status = 'submitted' where status = 'in_review'")
        op.execute("update intake_applications set status = 'approved' where status = 'contracted'")
    with op.batch_alter_table("intake_applications") as batch:
        batch.drop_constraint(op.f("ck_intake_applications_status"), type_="check")
        batch.create_check_constraint(op.f("ck_intake_applications_status"), OLD)
        batch.drop_index("ix_intake_applications_idempotency_key")
        batch.drop_constraint(
            op.f("fk_intake_applications_tenant_id_product_id_intake_products"), type_="foreignkey"
        )
        batch.drop_column("idempotency_key")
        batch.drop_column("product_id")
    op.drop_table("intake_products")
