"""to-dos: assigned to a user or a role, due, linked to a record, done or open

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.tenancy import rls

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "todos",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("assignee_user_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_role", sa.String(length=40), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("due_all_day", sa.Boolean(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=True),
        sa.Column("record_id", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("done_by_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "(assignee_user_id is null) <> (assignee_role is null)",
            name=op.f("ck_todos_one_assignee"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "assignee_user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_todos_tenant_id_assignee_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_todos_tenant_id_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "done_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_todos_tenant_id_done_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_todos_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_todos")),
        sa.UniqueConstraint("tenant_id", "source_key", name=op.f("uq_todos_tenant_id_source_key")),
    )
    op.create_index(
        "ix_todos_user_open",
        "todos",
        ["tenant_id", "assignee_user_id", "done_at", "due_at"],
        unique=False,
    )
    op.create_index(
        "ix_todos_role_open",
        "todos",
        ["tenant_id", "assignee_role", "done_at", "due_at"],
        unique=False,
    )
    op.create_index(
        "ix_todos_record", "todos", ["tenant_id", "record_type", "record_id"], unique=False
    )
    rls.enable(op, "todos")


def downgrade() -> None:
    rls.disable(op, "todos")
    op.drop_index("ix_todos_record", table_name="todos")
    op.drop_index("ix_todos_role_open", table_name="todos")
    op.drop_index("ix_todos_user_open", table_name="todos")
    op.drop_table("todos")
