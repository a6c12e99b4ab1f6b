"""SMS templates: the tenant's list of texts registered with its SMS provider, and the template
key, provider code and params a message was sent with

Revision ID: 0032
Revises: 0031
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.tenancy import rls

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

TEMPLATES = "sms_templates"


def upgrade() -> None:
    op.create_table(
        TEMPLATES,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("provider_code", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{TEMPLATES}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{TEMPLATES}")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f(f"uq_{TEMPLATES}_tenant_id_key")),
    )
    rls.enable(op, TEMPLATES)
    with op.batch_alter_table("notification_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_key", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("template_code", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("template_params", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notification_messages", schema=None) as batch_op:
        batch_op.drop_column("template_params")
        batch_op.drop_column("template_code")
        batch_op.drop_column("template_key")
    rls.disable(op, TEMPLATES)
    op.drop_table(TEMPLATES)
