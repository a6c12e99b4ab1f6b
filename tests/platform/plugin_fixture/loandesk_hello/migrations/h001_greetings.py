"""hello: greetings table

Revision ID: h001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "h001"
down_revision = None
branch_labels = ("hello",)
depends_on = "0004"


def upgrade() -> None:
    op.create_table(
        "hello_greetings",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.String(length=100), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_hello_greetings"),
    )
    sdk.enable_rls(op, "hello_greetings")


def downgrade() -> None:
    op.drop_table("hello_greetings")
