"""repayment: bank statements — saved column mappings, imports, their lines and outcome, and
each loan's repayment card

Revision ID: rp002
Revises: rp003

(rp002 and rp003 were written side by side; rp002 landed second, so it follows rp003.)
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "rp002"
down_revision = "rp003"
branch_labels = None
depends_on = None


def _base(table: str) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
    ]


def _fk(table: str, column: str, other: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{other}.tenant_id", f"{other}.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{other}"),
    )


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


LINE_STATUSES = (
    "'pending', 'posted', 'already_posted', 'duplicate', 'unmatched', 'assigned', "
    "'dismissed', 'skipped'"
)


def upgrade() -> None:
    t = "repayment_bank_mappings"
    op.create_table(
        t,
        *_base(t),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("columns", sdk.JSONValues, nullable=False),
        sa.Column("account", sa.String(length=40), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_repayment_bank_mappings_name", t, ["tenant_id", "name"], unique=True)

    t = "repayment_bank_imports"
    counts = ("lines", "credits", "posted", "already_posted", "duplicates", "unmatched")
    op.create_table(
        t,
        *_base(t),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=60), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        *[sa.Column(c, sa.Integer(), nullable=False) for c in (*counts, "skipped", "done")],
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sdk.UTCDateTime(), nullable=True),
        _check(t, "state", "state in ('queued', 'running', 'done', 'failed')"),
    )
    op.create_index("ix_repayment_bank_imports_created", t, ["tenant_id", "created_at"])

    t = "repayment_bank_lines"
    op.create_table(
        t,
        *_base(t),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("amount", sdk.Money(), nullable=False),
        sa.Column("direction", sa.String(length=6), nullable=False),
        sa.Column("counterparty_name", sa.String(length=100), nullable=True),
        sa.Column("account_enc", sa.Text(), nullable=True),
        sa.Column("account_hash", sa.String(length=64), nullable=True),
        sa.Column("account_tail", sa.String(length=4), nullable=True),
        sa.Column("memo", sa.String(length=500), nullable=True),
        sa.Column("serial", sa.String(length=100), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("rule", sa.String(length=10), nullable=True),
        sa.Column("loan_id", sa.Uuid(), nullable=True),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_by_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", sdk.UTCDateTime(), nullable=True),
        _fk(t, "import_id", "repayment_bank_imports"),
        _check(t, "status", f"status in ({LINE_STATUSES})"),
        _check(t, "direction", "direction in ('credit', 'debit')"),
        _check(t, "amount", "amount > 0"),
    )
    op.create_index("ix_repayment_bank_lines_import", t, ["tenant_id", "import_id", "row_number"])
    op.create_index("ix_repayment_bank_lines_status", t, ["tenant_id", "status", "booked_on"])
    op.create_index("ix_repayment_bank_lines_key", t, ["tenant_id", "idempotency_key"])

    t = "repayment_loan_cards"
    op.create_table(
        t,
        *_base(t),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("bank_name", sa.String(length=60), nullable=True),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("card_number_enc", sa.Text(), nullable=True),
        sa.Column("card_number_hash", sa.String(length=64), nullable=True),
        _fk(t, "loan_id", "repayment_loans"),
    )
    op.create_index("ix_repayment_loan_cards_loan", t, ["tenant_id", "loan_id"], unique=True)
    op.create_index(op.f(f"ix_{t}_card_number_hash"), t, ["card_number_hash"])

    for table in (
        "repayment_bank_mappings",
        "repayment_bank_imports",
        "repayment_bank_lines",
        "repayment_loan_cards",
    ):
        sdk.enable_rls(op, table)


def downgrade() -> None:
    for table in (
        "repayment_loan_cards",
        "repayment_bank_lines",
        "repayment_bank_imports",
        "repayment_bank_mappings",
    ):
        op.drop_table(table)
