"""assets: loans' five-tier classes (五级分类) with overrides, their history, and write-off
requests (核销) with what was recovered since

Revision ID: as001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "as001"
down_revision = None
branch_labels = ("assets",)
depends_on = "0029"

CLASSES = "'normal', 'special_mention', 'substandard', 'doubtful', 'loss'"


def _scope(table: str) -> list[sa.Constraint]:
    return [
        sa.ForeignKeyConstraint(
            ["tenant_id", "owner_id"],
            ["users.tenant_id", "users.id"],
            name=op.f(f"fk_{table}_tenant_id_owner_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "org_unit_id"],
            ["org_units.tenant_id", "org_units.id"],
            name=op.f(f"fk_{table}_tenant_id_org_unit_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
    ]


def _money(name: str) -> sa.Column:
    return sa.Column(name, sdk.Money(), nullable=False)


def upgrade() -> None:
    t = "assets_loan_classes"
    op.create_table(
        t,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_number", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("product_code", sa.String(length=30), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("org_unit_id", sa.Uuid(), nullable=False),
        sa.Column("loan_status", sa.String(length=12), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        _money("principal_outstanding"),
        sa.Column("dpd_class", sa.String(length=20), nullable=False),
        sa.Column("loan_class", sa.String(length=20), nullable=False),
        sa.Column("override_class", sa.String(length=20), nullable=True),
        sa.Column("override_reason", sa.String(length=500), nullable=True),
        sa.Column("overridden_by_id", sa.Uuid(), nullable=True),
        sa.Column("overridden_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
        sa.CheckConstraint(f"dpd_class in ({CLASSES})", name=op.f(f"ck_{t}_dpd_class")),
        sa.CheckConstraint(f"loan_class in ({CLASSES})", name=op.f(f"ck_{t}_loan_class")),
        sa.CheckConstraint(
            f"override_class is null or override_class in ({CLASSES})",
            name=op.f(f"ck_{t}_override_class"),
        ),
        *_scope(t),
    )
    op.create_index("ix_assets_loan_classes_class", t, ["tenant_id", "loan_status", "loan_class"])
    op.create_index("ix_assets_loan_classes_scope", t, ["tenant_id", "org_unit_id", "owner_id"])
    sdk.enable_rls(op, t)

    t = "assets_class_changes"
    op.create_table(
        t,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("product_code", sa.String(length=30), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("org_unit_id", sa.Uuid(), nullable=False),
        sa.Column("from_class", sa.String(length=20), nullable=True),
        sa.Column("to_class", sa.String(length=20), nullable=False),
        sa.Column("changed_on", sa.Date(), nullable=False),
        sa.Column("cause", sa.String(length=20), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        _money("principal_outstanding"),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("changed_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "cause in ('dpd', 'override', 'override_cleared')", name=op.f(f"ck_{t}_cause")
        ),
        sa.CheckConstraint(f"to_class in ({CLASSES})", name=op.f(f"ck_{t}_to_class")),
        *_scope(t),
    )
    op.create_index("ix_assets_class_changes_loan", t, ["tenant_id", "loan_id", "created_at"])
    op.create_index("ix_assets_class_changes_day", t, ["tenant_id", "changed_on"])
    sdk.enable_rls(op, t)

    t = "assets_write_offs"
    op.create_table(
        t,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("loan_number", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("org_unit_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=False),
        sa.Column("requested_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("reviewed_by_id", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("review_note", sa.String(length=500), nullable=True),
        sa.Column("written_off_on", sa.Date(), nullable=True),
        *[_money(c) for c in ("principal", "interest", "fees", "penalty", "total", "recovered")],
        sa.CheckConstraint(
            "status in ('requested', 'approved', 'rejected', 'cancelled')",
            name=op.f(f"ck_{t}_status"),
        ),
        sa.CheckConstraint(
            "reviewed_by_id is null or reviewed_by_id <> requested_by_id",
            name=op.f(f"ck_{t}_maker_checker"),
        ),
        *_scope(t),
    )
    op.create_index("ix_assets_write_offs_status", t, ["tenant_id", "status", "requested_at"])
    op.create_index("ix_assets_write_offs_loan", t, ["tenant_id", "loan_id"])
    live = sa.text("status IN ('requested', 'approved')")
    op.create_index(
        "ix_assets_write_offs_one_live",
        t,
        ["tenant_id", "loan_id"],
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )
    sdk.enable_rls(op, t)


def downgrade() -> None:
    op.drop_table("assets_write_offs")
    op.drop_table("assets_class_changes")
    op.drop_table("assets_loan_classes")
