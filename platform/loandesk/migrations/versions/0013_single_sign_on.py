"""single sign-on: a tenant's OpenID Connect provider, and users' provider identities

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.tenancy import rls

TENANT_OWNED = ("sso_configs", "user_identities")

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sso_configs",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("issuer", sa.String(length=300), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("client_secret", sa.String(length=2000), nullable=False),
        sa.Column("display_name", sa.String(length=60), nullable=False),
        sa.Column("scopes", sa.String(length=300), nullable=False),
        sa.Column("role_claim", sa.String(length=100), nullable=False),
        sa.Column("role_mapping", sa.JSON(), nullable=False),
        sa.Column("provision_users", sa.Boolean(), nullable=False),
        sa.Column("password_sign_in", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "updated_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_sso_configs_tenant_id_updated_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sso_configs_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sso_configs")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_sso_configs_tenant_id")),
    )
    op.create_table(
        "user_identities",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("issuer", sa.String(length=300), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_sign_in_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_user_identities_tenant_id_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_user_identities_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_user_identities")),
        sa.UniqueConstraint(
            "tenant_id",
            "issuer",
            "subject",
            name=op.f("uq_user_identities_tenant_id_issuer_subject"),
        ),
    )
    with op.batch_alter_table("user_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_identities_user_id"), ["user_id"], unique=False)
    for table in TENANT_OWNED:
        rls.enable(op, table)


def downgrade() -> None:
    for table in reversed(TENANT_OWNED):
        rls.disable(op, table)
    with op.batch_alter_table("user_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_identities_user_id"))
    op.drop_table("user_identities")
    op.drop_table("sso_configs")
