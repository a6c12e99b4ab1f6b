"""repayment: loans can be written off (核销, status ``written_off``) on a date; later
payments on them post as recoveries

Revision ID: rp008
Revises: rp006
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "rp008"
down_revision = "rp006"
branch_labels = None
depends_on = None

OLD = "status in ('pending', 'active', 'settled')"
NEW = "status in ('pending', 'active', 'settled', 'written_off')"


def upgrade() -> None:
    with op.batch_alter_table("repayment_loans") as batch:
        batch.add_column(sa.Column("written_off_on", sa.Date(), nullable=True))
        batch.alter_column("status", type_=sa.String(length=12), existing_nullable=False)
        batch.drop_constraint(op.f("ck_repayment_loans_status"), type_="check")
        batch.create_check_constraint(op.f("ck_repayment_loans_status"), NEW)


def downgrade() -> None:
    for _tenant in sdk.each_tenant(op):  # row-level security: one tenant's rows at a time
        op.execute("update repayment_loans set status = 'active' where status = 'written_off'")
    with op.batch_alter_table("repayment_loans") as batch:
        batch.drop_constraint(op.f("ck_repayment_loans_status"), type_="check")
        batch.create_check_constraint(op.f("ck_repayment_loans_status"), OLD)
        batch.alter_column("status", type_=sa.String(length=10), existing_nullable=False)
        batch.drop_column("written_off_on")
