"""repayment: close of business takes only the loans with work on the date, found through
partial indexes (unpaid installments in force by due date; installments and loans whose
stored days past due or overdue amounts are not 0; loans by bucket)

Revision ID: rp009
Revises: rp008
"""

import sqlalchemy as sa
from alembic import op

revision = "rp009"
down_revision = "rp008"
branch_labels = None
depends_on = None

UNPAID = "NOT superseded AND status <> 'paid'"
DPD = "NOT superseded AND days_past_due <> 0"
ARREARS = "days_past_due <> 0 OR overdue_amount <> 0"


def upgrade() -> None:
    op.create_index(
        "ix_repayment_installments_unpaid",
        "repayment_installments",
        ["tenant_id", "due_date", "loan_id"],
        sqlite_where=sa.text(UNPAID),
        postgresql_where=sa.text(UNPAID),
    )
    op.create_index(
        "ix_repayment_installments_dpd",
        "repayment_installments",
        ["tenant_id", "loan_id"],
        sqlite_where=sa.text(DPD),
        postgresql_where=sa.text(DPD),
    )
    op.create_index("ix_repayment_loans_bucket", "repayment_loans", ["tenant_id", "bucket"])
    op.create_index(
        "ix_repayment_loans_arrears",
        "repayment_loans",
        ["tenant_id", "id"],
        sqlite_where=sa.text(ARREARS),
        postgresql_where=sa.text(ARREARS),
    )


def downgrade() -> None:
    op.drop_index("ix_repayment_loans_arrears", "repayment_loans")
    op.drop_index("ix_repayment_loans_bucket", "repayment_loans")
    op.drop_index("ix_repayment_installments_dpd", "repayment_installments")
    op.drop_index("ix_repayment_installments_unpaid", "repayment_installments")
