"""repayment: early repayments, and installments an early repayment supersedes (kept, never
deleted) — the unique installment number holds for the schedule in force only

Revision ID: rp003
Revises: rp001 (the lead re-chains it after rp002, bank-statement import, when merging)
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "rp003"
down_revision = "rp001"
branch_labels = None
depends_on = None

T = "repayment_early_repayments"
I = "repayment_installments"  # noqa: E741


def upgrade() -> None:
    with op.batch_alter_table(I) as batch:
        batch.add_column(
            sa.Column("superseded", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("superseded_by_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("written_by_id", sa.Uuid(), nullable=True))
    op.drop_index("ix_repayment_installments_loan", table_name=I)
    op.create_index(
        "ix_repayment_installments_loan",
        I,
        ["tenant_id", "loan_id", "number"],
        unique=True,
        sqlite_where=sa.text("NOT superseded"),
        postgresql_where=sa.text("NOT superseded"),
    )
    money = (
        "amount", "credit_used", "arrears", "principal", "interest", "fee",
        "interest_waived", "fees_waived",
    )  # fmt: skip
    op.create_table(
        T,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("recalculation", sa.String(length=20), nullable=True),
        sa.Column("repaid_on", sa.Date(), nullable=False),
        sa.Column("product_code", sa.String(length=50), nullable=False),
        *[sa.Column(name, sdk.Money(), nullable=False) for name in money],
        sa.Column("periods_before", sa.Integer(), nullable=False),
        sa.Column("periods_after", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("posted_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("reversed_at", sdk.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{T}_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "loan_id"],
            ["repayment_loans.tenant_id", "repayment_loans.id"],
            name=op.f(f"fk_{T}_tenant_id_loan_id_repayment_loans"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "payment_id"],
            ["repayment_payments.tenant_id", "repayment_payments.id"],
            name=op.f(f"fk_{T}_tenant_id_payment_id_repayment_payments"),
        ),
        sa.CheckConstraint("kind in ('full', 'partial')", name=op.f(f"ck_{T}_kind")),
        sa.CheckConstraint("status in ('posted', 'reversed')", name=op.f(f"ck_{T}_status")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{T}")),
    )
    op.create_index(f"ix_{T}_payment", T, ["tenant_id", "payment_id"], unique=True)
    op.create_index(f"ix_{T}_loan", T, ["tenant_id", "loan_id"])
    op.create_index(f"ix_{T}_day", T, ["tenant_id", "repaid_on"])
    sdk.enable_rls(op, T)


def downgrade() -> None:
    op.drop_table(T)
    op.drop_index("ix_repayment_installments_loan", table_name=I)
    op.create_index(
        "ix_repayment_installments_loan", I, ["tenant_id", "loan_id", "number"], unique=True
    )
    with op.batch_alter_table(I) as batch:
        batch.drop_column("written_by_id")
        batch.drop_column("superseded_by_id")
        batch.drop_column("superseded")
