"""privacy: retention periods, privacy settings, data-subject requests and their history;
built-in roles of existing tenants get the data-request permissions

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from loandesk.db import UTCDateTime
from loandesk.rbac.migration_grants import change_builtin_roles
from loandesk.tenancy import rls

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TENANT_OWNED = ("privacy_settings", "retention_periods", "data_requests", "data_request_changes")
# What new tenants' built-in roles get from loandesk.rbac.catalog, as it was at this revision.
GRANTS = {
    "risk_manager": ("data_requests.read", "data_requests.manage"),
    "post_loan_admin": ("data_requests.read", "data_requests.manage"),
    "auditor": ("data_requests.read",),
}
NEW_PERMISSIONS = ("data_requests.read", "data_requests.manage", "privacy.manage")


def upgrade() -> None:
    op.create_table(
        "privacy_settings",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("data_request_due_days", sa.Integer(), nullable=False),
        sa.Column("last_request_number", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "data_request_due_days between 1 and 30", name=op.f("ck_privacy_settings_due_days")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_privacy_settings_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_privacy_settings")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_privacy_settings_tenant_id")),
    )
    op.create_table(
        "retention_periods",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=80), nullable=False),
        sa.Column("days", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("last_run_at", UTCDateTime(), nullable=True),
        sa.Column("last_run_anonymised", sa.Integer(), nullable=False),
        sa.CheckConstraint("days is null or days >= 0", name=op.f("ck_retention_periods_days")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_retention_periods_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_retention_periods")),
        sa.UniqueConstraint(
            "tenant_id", "record_type", name=op.f("uq_retention_periods_tenant_id_record_type")
        ),
    )
    op.create_table(
        "data_requests",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("handler_id", sa.Uuid(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("anonymised_at", UTCDateTime(), nullable=True),
        sa.Column("subject_name_enc", sa.Text(), nullable=True),
        sa.Column("subject_name_hash", sa.String(length=64), nullable=True),
        sa.Column("subject_id_number_enc", sa.Text(), nullable=True),
        sa.Column("subject_id_number_hash", sa.String(length=64), nullable=True),
        sa.Column("subject_mobile_enc", sa.Text(), nullable=True),
        sa.Column("subject_mobile_hash", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "kind in ('access', 'correction', 'deletion', 'other')",
            name=op.f("ck_data_requests_kind"),
        ),
        sa.CheckConstraint(
            "status in ('received', 'in_progress', 'completed', 'refused')",
            name=op.f("ck_data_requests_status"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_data_requests_tenant_id_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "handler_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_data_requests_tenant_id_handler_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_data_requests_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_data_requests")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_data_requests_tenant_id_number")),
    )
    with op.batch_alter_table("data_requests", schema=None) as batch_op:
        for field in ("subject_id_number", "subject_mobile", "subject_name"):
            batch_op.create_index(
                batch_op.f(f"ix_data_requests_{field}_hash"), [f"{field}_hash"], unique=False
            )
        batch_op.create_index(
            "ix_data_requests_tenant_status_due", ["tenant_id", "status", "due_on"], unique=False
        )
    op.create_table(
        "data_request_changes",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("actor_label", sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "request_id"],
            ["data_requests.tenant_id", "data_requests.id"],
            name=op.f("fk_data_request_changes_tenant_id_request_id_data_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_data_request_changes_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_data_request_changes")),
    )
    with op.batch_alter_table("data_request_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_data_request_changes_tenant_request", ["tenant_id", "request_id"], unique=False
        )
    for table in TENANT_OWNED:
        rls.enable(op, table)
    change_builtin_roles(op, GRANTS, NEW_PERMISSIONS, add=True)


def downgrade() -> None:
    change_builtin_roles(op, GRANTS, NEW_PERMISSIONS, add=False)
    for table in reversed(TENANT_OWNED):
        rls.disable(op, table)
    with op.batch_alter_table("data_request_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_data_request_changes_tenant_request")
    op.drop_table("data_request_changes")
    with op.batch_alter_table("data_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_data_requests_tenant_status_due")
        for field in ("subject_name", "subject_mobile", "subject_id_number"):
            batch_op.drop_index(batch_op.f(f"ix_data_requests_{field}_hash"))
    op.drop_table("data_requests")
    op.drop_table("retention_periods")
    op.drop_table("privacy_settings")
