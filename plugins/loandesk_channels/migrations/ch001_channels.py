"""channels: channels and sub-channels, agents, leads, lead → application links, costs; the
built-in ``channel_agent`` role for tenants that existed before it

Revision ID: ch001
Revises:
"""

import datetime
import uuid

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
        sa.Column("channel_code", sa.String(length=40), nullable=True),
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
        sa.Column("anonymised_at", sdk.UTCDateTime(), nullable=True),
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
    _add_agent_role()


# What a new tenant's channel_agent role gets when it enables customers and intake (their
# record types' defaults, as they were at this revision): own records, these fields.
AGENT_GRANTS = {
    "customers": (
        "customer",
        {
            "name": "edit",
            "id_number": "edit",
            "mobile": "edit",
            "address": "edit",
            "employer": "edit",
            "monthly_income": "edit",
            "status": "edit",
            "owner_id": "edit",
            "org_unit_id": "edit",
            "created_at": "edit",
        },
    ),
    "intake": (
        "application",
        {
            key: "edit"
            for key in (
                "number",
                "customer_id",
                "amount",
                "term_months",
                "status",
                "owner_id",
                "org_unit_id",
                "created_at",
                "submitted_at",
            )
        },
    ),
}


def _add_agent_role() -> None:
    """Tenants created before the role was built in get it (unless a role of theirs has the
    key already), with the access customers and intake give it when enabled after it. Runs
    per tenant with app.tenant_id set: FORCE ROW LEVEL SECURITY binds the owner role too."""
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    roles = sa.table(
        "roles",
        *[sa.column(c, sa.Uuid) for c in ("tenant_id", "id")],
        *[sa.column(c, sa.String) for c in ("key", "name_zh", "name_en", "description")],
        sa.column("builtin", sa.Boolean),
        sa.column("permissions", sa.JSON),
        sa.column("created_at", sdk.UTCDateTime),
    )
    grants = sa.table(
        "role_record_access",
        *[sa.column(c, sa.Uuid) for c in ("tenant_id", "id", "role_id")],
        *[sa.column(c, sa.String) for c in ("record_type", "scope")],
        *[sa.column(c, sa.JSON) for c in ("fields", "export")],
        sa.column("updated_at", sdk.UTCDateTime),
    )
    plugins = sa.table(
        "tenant_plugins",
        sa.column("tenant_id", sa.Uuid),
        sa.column("name", sa.String),
        sa.column("enabled", sa.Boolean),
    )
    tenants = sa.table("tenants", sa.column("id", sa.Uuid))
    now = datetime.datetime.now(datetime.UTC)
    for tenant_id in list(bind.execute(sa.select(tenants.c.id)).scalars()):
        if postgres:
            bind.execute(
                sa.text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
            )
        taken = bind.execute(
            sa.select(roles.c.id).where(
                roles.c.tenant_id == tenant_id, roles.c.key == "channel_agent"
            )
        ).first()
        if taken is not None:
            continue
        role_id = uuid.uuid4()
        bind.execute(
            roles.insert().values(
                tenant_id=tenant_id,
                id=role_id,
                key="channel_agent",
                name_zh="渠道代理",
                name_en="Channel agent",
                description="",
                builtin=True,
                permissions=[],
                created_at=now,
            )
        )
        enabled = set(
            bind.execute(
                sa.select(plugins.c.name).where(
                    plugins.c.tenant_id == tenant_id, plugins.c.enabled.is_(True)
                )
            ).scalars()
        )
        for plugin, (record_type, fields) in AGENT_GRANTS.items():
            if plugin in enabled:
                bind.execute(
                    grants.insert().values(
                        tenant_id=tenant_id,
                        id=uuid.uuid4(),
                        role_id=role_id,
                        record_type=record_type,
                        scope="own",
                        fields=fields,
                        export=[],
                        updated_at=now,
                    )
                )
    if postgres:
        bind.execute(sa.text("select set_config('app.tenant_id', '', true)"))


def downgrade() -> None:
    # the channel_agent roles stay: staff may hold them, and the catalog still names them
    for table in reversed(TABLES):
        op.drop_table(table)
