"""intake: applications go through approval (approved, rejected, returned to the submitter)

Revision ID: i002
Revises: i001
"""

from alembic import op

from loandesk import sdk

revision = "i002"
down_revision = "i001"
branch_labels = None
depends_on = ("0020",)

NEW = "status in ('draft', 'submitted', 'returned', 'approved', 'rejected', 'withdrawn')"
OLD = "status in ('draft', 'submitted', 'withdrawn')"


def _constraint(text: str) -> None:
    with op.batch_alter_table("intake_applications") as batch:
        batch.drop_constraint(op.f("ck_intake_applications_status"), type_="check")
        batch.create_check_constraint(op.f("ck_intake_applications_status"), text)


def upgrade() -> None:
    _constraint(NEW)


def downgrade() -> None:
    for _tenant in sdk.each_tenant(op):  # row-level security: one tenant's rows at a time
        op.execute(
            "update intake_applications set status = 'submitted' "
            "where status in ('returned', 'approved', 'rejected')"
        )
    _constraint(OLD)
