"""repayment: one loan per application — a partial unique index on the loans' application_id

Revision ID: rp005
Revises: rp004

No loan status means "cancelled" yet (pending → active → settled), so every loan that names an
application holds it. Should a pending loan ever be cancelled, narrow the index to the loans
that are not (``... AND status <> 'cancelled'``) in the same change.
"""

import sqlalchemy as sa
from alembic import op

revision = "rp005"
down_revision = "rp004"
branch_labels = None
depends_on = None

T = "repayment_loans"


def upgrade() -> None:
    op.create_index(
        "ix_repayment_loans_application",
        T,
        ["tenant_id", "application_id"],
        unique=True,
        sqlite_where=sa.text("application_id IS NOT NULL"),
        postgresql_where=sa.text("application_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_repayment_loans_application", table_name=T)
