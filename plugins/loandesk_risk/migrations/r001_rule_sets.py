"""risk: rule sets, their published versions and decisions

Revision ID: r001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "r001"
down_revision = None
branch_labels = ("risk",)
depends_on = ("i002",)


def _tenant(table: str) -> list[sa.Constraint]:
    return [
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "risk_rule_sets",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("published", sa.Integer(), nullable=False),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        *_tenant("risk_rule_sets"),
    )
    op.create_index(
        "ix_risk_rule_sets_record_type", "risk_rule_sets", ["tenant_id", "record_type"], unique=True
    )
    op.create_table(
        "risk_rule_set_versions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rule_set_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("published_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("published_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "rule_set_id"],
            ["risk_rule_sets.tenant_id", "risk_rule_sets.id"],
            name=op.f("fk_risk_rule_set_versions_tenant_id_rule_set_id_risk_rule_sets"),
        ),
        *_tenant("risk_rule_set_versions"),
    )
    op.create_index(
        "ix_risk_rule_set_versions_number",
        "risk_rule_set_versions",
        ["tenant_id", "rule_set_id", "number"],
        unique=True,
    )
    op.create_table(
        "risk_decisions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("hits", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("total_score", sa.Integer(), nullable=True),
        sa.Column("grade", sa.String(length=20), nullable=True),
        sa.Column("suggested_limit", sdk.Money(), nullable=True),
        sa.Column("suggested_rate", sdk.Money(6), nullable=True),
        sa.Column("decided_at", sdk.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "version_id"],
            ["risk_rule_set_versions.tenant_id", "risk_rule_set_versions.id"],
            name=op.f("fk_risk_decisions_tenant_id_version_id_risk_rule_set_versions"),
        ),
        *_tenant("risk_decisions"),
    )
    op.create_index(
        "ix_risk_decisions_record",
        "risk_decisions",
        ["tenant_id", "record_type", "record_id"],
        unique=False,
    )
    for table in ("risk_rule_sets", "risk_rule_set_versions", "risk_decisions"):
        sdk.enable_rls(op, table)


def downgrade() -> None:
    op.drop_table("risk_decisions")
    op.drop_table("risk_rule_set_versions")
    op.drop_table("risk_rule_sets")
