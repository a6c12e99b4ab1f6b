"""automations: rules (trigger, condition, actions) and their firings, one per rule, record
and occurrence

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.tenancy import rls

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

TABLES = ("automation_rules", "automation_firings")


def upgrade() -> None:
    op.create_table(
        "automation_rules",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("trigger_key", sa.String(length=120), nullable=False),
        sa.Column("trigger", sa.JSON(), nullable=False),
        sa.Column("condition", sa.Text(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "updated_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_automation_rules_tenant_id_updated_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_automation_rules_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_automation_rules")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_automation_rules_tenant_id_name")),
    )
    op.create_index(
        "ix_automation_rules_trigger",
        "automation_rules",
        ["tenant_id", "enabled", "trigger_key"],
        unique=False,
    )
    op.create_table(
        "automation_firings",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("occurrence", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("next_action", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "state in ('pending', 'done', 'failed')", name=op.f("ck_automation_firings_state")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "rule_id"],
            ["automation_rules.tenant_id", "automation_rules.id"],
            name=op.f("fk_automation_firings_tenant_id_rule_id_automation_rules"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_automation_firings_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_automation_firings")),
        sa.UniqueConstraint(
            "tenant_id",
            "rule_id",
            "record_id",
            "occurrence",
            name=op.f("uq_automation_firings_tenant_id_rule_id_record_id_occurrence"),
        ),
    )
    op.create_index(
        "ix_automation_firings_rule",
        "automation_firings",
        ["tenant_id", "rule_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_automation_firings_state", "automation_firings", ["tenant_id", "state"], unique=False
    )
    for table in TABLES:
        rls.enable(op, table)


def downgrade() -> None:
    for table in reversed(TABLES):
        rls.disable(op, table)
    op.drop_index("ix_automation_firings_rule", table_name="automation_firings")
    op.drop_index("ix_automation_firings_state", table_name="automation_firings")
    op.drop_table("automation_firings")
    op.drop_index("ix_automation_rules_trigger", table_name="automation_rules")
    op.drop_table("automation_rules")
