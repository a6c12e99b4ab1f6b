"""vouchers: the chart-of-accounts mapping, vouchers and their lines

Revision ID: vc001
Revises:
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "vc001"
down_revision = None
branch_labels = ("vouchers",)
depends_on = "0029"

MAPPINGS, VOUCHERS, LINES = "vouchers_mappings", "vouchers_vouchers", "vouchers_lines"


def _keys(table: str) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        MAPPINGS,
        *_keys(MAPPINGS),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("account", sa.String(30), nullable=False),
        sa.Column("subject_code", sa.String(40), nullable=False),
        sa.Column("subject_name", sa.String(100), nullable=False),
        sa.Column("aux", sa.String(10), nullable=False),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
        sa.UniqueConstraint(
            "tenant_id", "kind", "account", name=op.f(f"uq_{MAPPINGS}_tenant_id_kind_account")
        ),
        sa.CheckConstraint(
            "aux in ('none', 'customer', 'product')", name=op.f(f"ck_{MAPPINGS}_aux")
        ),
    )
    op.create_table(
        VOUCHERS,
        *_keys(VOUCHERS),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("word", sa.String(4), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("summary", sa.String(200), nullable=False),
        sa.Column("total", sdk.Money(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("sent", sdk.JSONValues, nullable=True),
        sa.Column("exported_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("pushed_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("external_id", sa.String(40), nullable=True),
        sa.Column("external_number", sa.String(40), nullable=True),
        sa.Column("error", sa.String(1000), nullable=True),
        sa.Column("push_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
        sa.UniqueConstraint(
            "tenant_id", "day", "kind", name=op.f(f"uq_{VOUCHERS}_tenant_id_day_kind")
        ),
        sa.CheckConstraint(
            "state in ('draft', 'exported', 'pushed', 'push_failed')",
            name=op.f(f"ck_{VOUCHERS}_state"),
        ),
    )
    # numbers run per month and word: two generations at once cannot give one number twice
    op.create_index(
        "ix_vouchers_vouchers_period",
        VOUCHERS,
        ["tenant_id", "period", "word", "number"],
        unique=True,
    )
    op.create_table(
        LINES,
        *_keys(LINES),
        sa.Column("voucher_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(30), nullable=False),
        sa.Column("subject_code", sa.String(40), nullable=False),
        sa.Column("subject_name", sa.String(100), nullable=False),
        sa.Column("aux", sa.String(10), nullable=False),
        sa.Column("aux_code", sa.String(60), nullable=False),
        sa.Column("summary", sa.String(200), nullable=False),
        sa.Column("debit", sdk.Money(), nullable=False),
        sa.Column("credit", sdk.Money(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "voucher_id"],
            [f"{VOUCHERS}.tenant_id", f"{VOUCHERS}.id"],
            name=op.f(f"fk_{LINES}_tenant_id_voucher_id_{VOUCHERS}"),
        ),
        sa.CheckConstraint(
            "debit >= 0 and credit >= 0 and (debit = 0 or credit = 0)",
            name=op.f(f"ck_{LINES}_sides"),
        ),
    )
    op.create_index("ix_vouchers_lines_voucher", LINES, ["tenant_id", "voucher_id", "seq"])
    for table in (MAPPINGS, VOUCHERS, LINES):
        sdk.enable_rls(op, table)


def downgrade() -> None:
    op.drop_table(LINES)
    op.drop_table(VOUCHERS)
    op.drop_table(MAPPINGS)
