"""hello: contacts, with personal fields and a retention clock

Revision ID: h002
Revises: h001
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "h002"
down_revision = "h001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hello_contacts",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("amount", sdk.Money(), nullable=False),
        sa.Column("ended_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("anonymised_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("mobile_enc", sa.Text(), nullable=True),
        sa.Column("mobile_hash", sa.String(length=64), nullable=True),
        sa.Column("id_number_enc", sa.Text(), nullable=True),
        sa.Column("id_number_hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_hello_contacts"),
    )
    op.create_index("ix_hello_contacts_mobile_hash", "hello_contacts", ["mobile_hash"])
    op.create_index("ix_hello_contacts_id_number_hash", "hello_contacts", ["id_number_hash"])
    sdk.enable_rls(op, "hello_contacts")


def downgrade() -> None:
    op.drop_table("hello_contacts")
