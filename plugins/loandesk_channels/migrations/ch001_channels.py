"""channels: channels and sub-channels, agents, leads, lead → application links, costs

Revision ID: ch001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "ch001"
down_revision = None
branch_labels = ("channels",)
depends_on = ("c004", "i002")

TABLES = (
    "channels_channels",
    "channels_agents",
    "channels_leads",
    "channels_lead_applications",
    "channels_costs",
)


def _tenant(table: str) -> list[sa.Constraint]:
    return [
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
    ]


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{target}"),
    )


def upgrade() -> None:
    op.create_table(
        "channels_channels",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind in ('agent', 'online_ad', 'street', 'partner')",
            name=op.f("ck_channels_channels_kind"),
        ),
        _fk("channels_channels", "parent_id", "channels_channels"),
        *_tenant("channels_channels"),
    )
    op.create_index(
        "ix_channels_channels_code", "channels_channels", ["tenant_id", "code"], unique=True
    )
    op.create_table(
        "channels_agents",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("channel_id", sa.Uuid(), nullable=False),
        sa.Column("referral_code", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        _fk("channels_agents", "user_id", "users"),
        _fk("channels_agents", "channel_id", "channels_channels"),
        *_tenant("channels_agents"),
    )
    op.create_index(
        "ix_channels_agents_user", "channels_agents", ["tenant_id", "user_id"], unique=True
    )
    op.create_index(
        "ix_channels_agents_referral_code",
        "channels_agents",
        ["tenant_id", "referral_code"],
        unique=True,
    )
    op.create_table(
        "channels_leads",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("product", sa.String(length=60), nullable=True),
        sa.Column("amount", sdk.Money(), nullable=True),
        sa.Column("city", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel_id", sa.Uuid(), nullable=True),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        *[
            sa.Column(key, sa.String(length=100), nullable=True)
            for key in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
        ],
        sa.Column("referrer", sa.String(length=500), nullable=True),
        sa.Column("landed_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("consent_version", sa.String(length=40), nullable=True),
        sa.Column("consent_hash", sa.String(length=64), nullable=True),
        sa.Column("consent_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("org_unit_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("mobile_enc", sa.Text(), nullable=True),
        sa.Column("mobile_hash", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "status in ('new', 'contacted', 'converted', 'lost')",
            name=op.f("ck_channels_leads_status"),
        ),
        _fk("channels_leads", "owner_id", "users"),
        _fk("channels_leads", "channel_id", "channels_channels"),
        _fk("channels_leads", "agent_id", "channels_agents"),
        *_tenant("channels_leads"),
    )
    op.create_index(
        "ix_channels_leads_scope", "channels_leads", ["tenant_id", "org_unit_id", "owner_id"]
    )
    op.create_index("ix_channels_leads_channel", "channels_leads", ["tenant_id", "channel_id"])
    op.create_index(op.f("ix_channels_leads_owner_id"), "channels_leads", ["owner_id"])
    op.create_index(op.f("ix_channels_leads_mobile_hash"), "channels_leads", ["mobile_hash"])
    op.create_table(
        "channels_lead_applications",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("converted_by_id", sa.Uuid(), nullable=False),
        sa.Column("converted_at", sdk.UTCDateTime(), nullable=False),
        _fk("channels_lead_applications", "lead_id", "channels_leads"),
        *_tenant("channels_lead_applications"),
    )
    op.create_index(
        "ix_channels_lead_applications_lead",
        "channels_lead_applications",
        ["tenant_id", "lead_id"],
        unique=True,
    )
    op.create_index(
        "ix_channels_lead_applications_application",
        "channels_lead_applications",
        ["tenant_id", "application_id"],
    )
    op.create_table(
        "channels_costs",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel_id", sa.Uuid(), nullable=False),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("amount", sdk.Money(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_channels_costs_amount")),
        _fk("channels_costs", "channel_id", "channels_channels"),
        *_tenant("channels_costs"),
    )
    op.create_index(
        "ix_channels_costs_channel", "channels_costs", ["tenant_id", "channel_id", "spent_on"]
    )
    for table in TABLES:
        sdk.enable_rls(op, table)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
