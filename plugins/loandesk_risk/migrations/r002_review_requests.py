"""risk: every value a decision could read, the borrower's request for a person to decide,
and back-tests

Revision ID: r002
Revises: r001
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "r002"
down_revision = "r001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("risk_decisions") as batch:
        batch.add_column(sa.Column("context", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("review_requested_at", sdk.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("review_requested_by_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("review_channel", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("review_note", sa.Text(), nullable=True))
    op.create_index(
        "ix_risk_decisions_decided_at",
        "risk_decisions",
        ["tenant_id", "record_type", "decided_at"],
        unique=False,
    )
    op.create_table(
        "risk_back_tests",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("since", sdk.UTCDateTime(), nullable=False),
        sa.Column("until", sdk.UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("matrix", sa.JSON(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sdk.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_risk_back_tests_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_risk_back_tests")),
    )
    sdk.enable_rls(op, "risk_back_tests")


def downgrade() -> None:
    op.drop_table("risk_back_tests")
    op.drop_index("ix_risk_decisions_decided_at", table_name="risk_decisions")
    with op.batch_alter_table("risk_decisions") as batch:
        for name in (
            "review_note",
            "review_channel",
            "review_requested_by_id",
            "review_requested_at",
            "context",
        ):
            batch.drop_column(name)
