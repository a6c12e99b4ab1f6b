"""warning: the tenant's early-warning models, signals on loans and the watch list

Revision ID: wn001
Revises:
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "wn001"
down_revision = None
branch_labels = ("warning",)
depends_on = "0029"


def _tenant(table: str) -> list[Any]:
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
        "warning_models",
        *_tenant("warning_models"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("algorithm", sa.String(length=30), nullable=False),
        sa.Column("trained_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("trained_by_id", sa.Uuid(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("label_dpd", sa.Integer(), nullable=False),
        sa.Column("label_days", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("positives", sa.Integer(), nullable=False),
        sa.Column("test_rows", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("auc", sa.Numeric(7, 6), nullable=False),
        sa.Column("ks", sa.Numeric(7, 6), nullable=False),
        sa.Column("features", sdk.JSONValues, nullable=False),
        sa.Column("parameters", sdk.JSONValues, nullable=False),
        sa.Column("retired_at", sdk.UTCDateTime(), nullable=True),
        sa.CheckConstraint("state in ('active', 'retired')", name=op.f("ck_warning_models_state")),
    )
    op.create_index(
        "ix_warning_models_version", "warning_models", ["tenant_id", "version"], unique=True
    )
    op.create_index(
        "ix_warning_models_one_active",
        "warning_models",
        ["tenant_id"],
        unique=True,
        sqlite_where=sa.text("state = 'active'"),
        postgresql_where=sa.text("state = 'active'"),
    )
    sdk.enable_rls(op, "warning_models")

    op.create_table(
        "warning_signals",
        *_tenant("warning_signals"),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("detail", sdk.JSONValues, nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind in ('partial_payment', 'contact_change', 'promise_broken')",
            name=op.f("ck_warning_signals_kind"),
        ),
    )
    op.create_index(
        "ix_warning_signals_source",
        "warning_signals",
        ["tenant_id", "kind", "loan_id", "source"],
        unique=True,
    )
    op.create_index(
        "ix_warning_signals_loan", "warning_signals", ["tenant_id", "loan_id", "occurred_on"]
    )
    sdk.enable_rls(op, "warning_signals")

    op.create_table(
        "warning_watchlist",
        *_tenant("warning_watchlist"),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("loan_number", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("product_code", sa.String(length=30), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("org_unit_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("model_score", sa.Integer(), nullable=True),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("reasons", sdk.JSONValues, nullable=False),
        sa.Column("reason_text", sa.String(length=500), nullable=False),
        sa.Column("first_flagged_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("last_scored_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("cleared_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("custom", sdk.JSONValues, nullable=False, server_default=sa.text("'{}'")),
        sa.CheckConstraint(
            "status in ('flagged', 'cleared')", name=op.f("ck_warning_watchlist_status")
        ),
        sa.CheckConstraint("level in ('high', 'medium')", name=op.f("ck_warning_watchlist_level")),
        sa.CheckConstraint("score between 0 and 100", name=op.f("ck_warning_watchlist_score")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "owner_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_warning_watchlist_tenant_id_owner_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "org_unit_id"],
            ["org_units.tenant_id", "org_units.id"],
            name=op.f("fk_warning_watchlist_tenant_id_org_unit_id_org_units"),
        ),
    )
    for name, columns, unique in (
        ("loan", ["tenant_id", "loan_id"], True),
        ("status", ["tenant_id", "status", "level", "score"], False),
        ("scope", ["tenant_id", "org_unit_id", "owner_id"], False),
    ):
        op.create_index(f"ix_warning_watchlist_{name}", "warning_watchlist", columns, unique=unique)
    sdk.enable_rls(op, "warning_watchlist")


def downgrade() -> None:
    for table in ("warning_watchlist", "warning_signals", "warning_models"):
        op.drop_table(table)
