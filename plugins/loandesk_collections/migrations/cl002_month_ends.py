"""collections: month-end arrears snapshots of loans, for roll rates (迁徙率)

Revision ID: cl002
Revises: cl001
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "cl002"
down_revision = "cl001"
branch_labels = None
depends_on = None

TABLE = "collections_month_ends"


def _fk(column: str, other: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{other}.tenant_id", f"{other}.id"],
        name=op.f(f"fk_{TABLE}_tenant_id_{column}_{other}"),
    )


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("next_month", sa.Date(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=10), nullable=False),
        sa.Column("principal_outstanding", sdk.Money(), nullable=False),
        sa.Column("product_code", sa.String(length=40), nullable=False),
        sa.Column("org_unit_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{TABLE}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{TABLE}")),
        _fk("loan_id", "repayment_loans"),
        _fk("org_unit_id", "org_units"),
    )
    op.create_index(
        "ix_collections_month_ends_loan", TABLE, ["tenant_id", "loan_id", "month"], unique=True
    )
    op.create_index("ix_collections_month_ends_month", TABLE, ["tenant_id", "month"])
    sdk.enable_rls(op, TABLE)


def downgrade() -> None:
    op.drop_table(TABLE)
