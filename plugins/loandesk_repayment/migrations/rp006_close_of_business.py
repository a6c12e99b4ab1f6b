"""repayment: close of business (日终批处理) — the runs, and what each run leaves on loans
(business date, days past due, DPD bucket, overdue amounts) and installments (days past due,
first overdue day, the penalty interest accrual)

Revision ID: rp006
Revises: rp005
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "rp006"
down_revision = "rp005"
branch_labels = None
depends_on = None

T = "repayment_cob_runs"
LOANS = "repayment_loans"
INSTALLMENTS = "repayment_installments"


def _zero(name: str, money: bool = False) -> sa.Column:
    kind = sdk.Money() if money else sa.Integer()
    return sa.Column(name, kind, nullable=False, server_default=sa.text("0"))


def upgrade() -> None:
    op.create_table(
        T,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("previous_date", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        *[
            sa.Column(c, sa.Integer(), nullable=False)
            for c in (
                "loans_total",
                "loans_done",
                "chunks_done",
                "installments_overdue",
                "bucket_changes",
                "attempts",
            )
        ],
        sa.Column("last_loan_id", sa.Uuid(), nullable=True),
        sa.Column("penalty_posted", sdk.Money(), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("started_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sdk.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "state in ('running', 'done', 'superseded')", name=op.f(f"ck_{T}_state")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{T}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{T}")),
    )
    op.create_index("ix_repayment_cob_runs_date", T, ["tenant_id", "business_date"], unique=True)
    sdk.enable_rls(op, T)

    with op.batch_alter_table(LOANS) as batch:
        batch.add_column(sa.Column("cob_date", sa.Date(), nullable=True))
        batch.add_column(_zero("days_past_due"))
        batch.add_column(
            sa.Column("bucket", sa.String(length=10), nullable=False, server_default="M0")
        )
        batch.add_column(_zero("overdue_principal", money=True))
        batch.add_column(_zero("overdue_amount", money=True))
    with op.batch_alter_table(INSTALLMENTS) as batch:
        batch.add_column(_zero("days_past_due"))
        batch.add_column(sa.Column("overdue_since", sa.Date(), nullable=True))
        batch.add_column(_zero("penalty_days"))
        batch.add_column(_zero("penalty_base", money=True))
        batch.add_column(_zero("penalty_segment_days"))
        batch.add_column(_zero("penalty_frozen", money=True))
    if op.get_bind().dialect.name == "postgresql":
        # close of business rewrites every active loan and each overdue installment daily,
        # none of the columns it writes indexed: room on the page keeps those updates HOT
        # (no index entries written). Pages written from now on keep it.
        op.execute(f"ALTER TABLE {LOANS} SET (fillfactor = 80)")
        op.execute(f"ALTER TABLE {INSTALLMENTS} SET (fillfactor = 85)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {LOANS} RESET (fillfactor)")
        op.execute(f"ALTER TABLE {INSTALLMENTS} RESET (fillfactor)")
    with op.batch_alter_table(INSTALLMENTS) as batch:
        for column in (
            "penalty_frozen", "penalty_segment_days", "penalty_base", "penalty_days",
            "overdue_since", "days_past_due",
        ):  # fmt: skip
            batch.drop_column(column)
    with op.batch_alter_table(LOANS) as batch:
        for column in (
            "overdue_amount",
            "overdue_principal",
            "bucket",
            "days_past_due",
            "cob_date",
        ):
            batch.drop_column(column)
    op.drop_table(T)
