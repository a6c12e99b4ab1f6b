"""approval flows: definitions, published versions, running instances with their steps,
tasks, timeline and CC notices

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.tenancy import rls

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TABLES = (
    "flow_definitions",
    "flow_versions",
    "flow_instances",
    "flow_actions",
    "flow_copies",
    "flow_steps",
    "flow_tasks",
)


def upgrade() -> None:
    op.create_table(
        "flow_definitions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "updated_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_flow_definitions_tenant_id_updated_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_flow_definitions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_flow_definitions")),
        sa.UniqueConstraint(
            "tenant_id", "record_type", name=op.f("uq_flow_definitions_tenant_id_record_type")
        ),
    )
    op.create_table(
        "flow_versions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("definition_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("tree", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("published_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "definition_id"],
            ["flow_definitions.tenant_id", "flow_definitions.id"],
            name=op.f("fk_flow_versions_tenant_id_definition_id_flow_definitions"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "published_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_flow_versions_tenant_id_published_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_flow_versions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_flow_versions")),
        sa.UniqueConstraint(
            "tenant_id",
            "definition_id",
            "number",
            name=op.f("uq_flow_versions_tenant_id_definition_id_number"),
        ),
    )
    op.create_table(
        "flow_instances",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("submitter_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("current_node", sa.String(length=40), nullable=True),
        sa.Column("decided", sa.Boolean(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "state in ('running', 'returned', 'approved', 'rejected', 'withdrawn')",
            name=op.f("ck_flow_instances_state"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "submitter_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_flow_instances_tenant_id_submitter_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "version_id"],
            ["flow_versions.tenant_id", "flow_versions.id"],
            name=op.f("fk_flow_instances_tenant_id_version_id_flow_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_flow_instances_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_flow_instances")),
    )
    op.create_index(
        "ix_flow_instances_record",
        "flow_instances",
        ["tenant_id", "record_type", "record_id"],
        unique=False,
    )
    op.create_index(
        "ix_flow_instances_submitter",
        "flow_instances",
        ["tenant_id", "submitter_id", "state"],
        unique=False,
    )
    op.create_table(
        "flow_actions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sa.Uuid(), nullable=True),
        sa.Column("node_id", sa.String(length=40), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("attachment_ids", sa.JSON(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "instance_id"],
            ["flow_instances.tenant_id", "flow_instances.id"],
            name=op.f("fk_flow_actions_tenant_id_instance_id_flow_instances"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_flow_actions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_flow_actions")),
    )
    op.create_index(
        "ix_flow_actions_actor", "flow_actions", ["tenant_id", "actor_id", "action"], unique=False
    )
    op.create_index(
        "ix_flow_actions_instance", "flow_actions", ["tenant_id", "instance_id"], unique=False
    )
    op.create_table(
        "flow_copies",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.Uuid(), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "instance_id"],
            ["flow_instances.tenant_id", "flow_instances.id"],
            name=op.f("fk_flow_copies_tenant_id_instance_id_flow_instances"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_flow_copies_tenant_id_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_flow_copies_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_flow_copies")),
        sa.UniqueConstraint(
            "tenant_id",
            "instance_id",
            "node_id",
            "user_id",
            name=op.f("uq_flow_copies_tenant_id_instance_id_node_id_user_id"),
        ),
    )
    op.create_index("ix_flow_copies_user", "flow_copies", ["tenant_id", "user_id"], unique=False)
    op.create_table(
        "flow_steps",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.Uuid(), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("node_name", sa.String(length=100), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("ratio", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("timed_out_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "mode in ('any', 'all', 'sequence', 'ratio')", name=op.f("ck_flow_steps_mode")
        ),
        sa.CheckConstraint(
            "state in ('active', 'approved', 'rejected', 'returned', 'cancelled')",
            name=op.f("ck_flow_steps_state"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "instance_id"],
            ["flow_instances.tenant_id", "flow_instances.id"],
            name=op.f("fk_flow_steps_tenant_id_instance_id_flow_instances"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_flow_steps_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_flow_steps")),
    )
    op.create_index(
        "ix_flow_steps_due", "flow_steps", ["tenant_id", "state", "due_at"], unique=False
    )
    op.create_index(
        "ix_flow_steps_instance", "flow_steps", ["tenant_id", "instance_id"], unique=False
    )
    op.create_table(
        "flow_tasks",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.Uuid(), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("added", sa.Boolean(), nullable=False),
        sa.Column("blocks_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "state in ('waiting', 'pending', 'approved', 'rejected', 'transferred', 'cancelled')",
            name=op.f("ck_flow_tasks_state"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "assignee_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_flow_tasks_tenant_id_assignee_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "instance_id"],
            ["flow_instances.tenant_id", "flow_instances.id"],
            name=op.f("fk_flow_tasks_tenant_id_instance_id_flow_instances"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "step_id"],
            ["flow_steps.tenant_id", "flow_steps.id"],
            name=op.f("fk_flow_tasks_tenant_id_step_id_flow_steps"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_flow_tasks_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_flow_tasks")),
    )
    op.create_index(
        "ix_flow_tasks_assignee", "flow_tasks", ["tenant_id", "assignee_id", "state"], unique=False
    )
    op.create_index("ix_flow_tasks_step", "flow_tasks", ["tenant_id", "step_id"], unique=False)
    for table in TABLES:
        rls.enable(op, table)


def downgrade() -> None:
    for table in reversed(TABLES):
        rls.disable(op, table)
    op.drop_index("ix_flow_tasks_assignee", table_name="flow_tasks")
    op.drop_index("ix_flow_tasks_step", table_name="flow_tasks")
    op.drop_table("flow_tasks")
    op.drop_index("ix_flow_steps_due", table_name="flow_steps")
    op.drop_index("ix_flow_steps_instance", table_name="flow_steps")
    op.drop_table("flow_steps")
    op.drop_index("ix_flow_copies_user", table_name="flow_copies")
    op.drop_table("flow_copies")
    op.drop_index("ix_flow_actions_actor", table_name="flow_actions")
    op.drop_index("ix_flow_actions_instance", table_name="flow_actions")
    op.drop_table("flow_actions")
    op.drop_index("ix_flow_instances_record", table_name="flow_instances")
    op.drop_index("ix_flow_instances_submitter", table_name="flow_instances")
    op.drop_table("flow_instances")
    op.drop_table("flow_versions")
    op.drop_table("flow_definitions")
