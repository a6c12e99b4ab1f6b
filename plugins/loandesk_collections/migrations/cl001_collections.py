"""collections: agencies and their users, queues and members, assignment rules, scripts, cases
with their assignments, actions and promises to pay

Revision ID: cl001
Revises:
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "cl001"
down_revision = None
branch_labels = ("collections",)
depends_on = ("rp006", "c006", "0029")

TABLES = (
    "collections_agencies",
    "collections_agency_users",
    "collections_queues",
    "collections_queue_members",
    "collections_rules",
    "collections_scripts",
    "collections_cases",
    "collections_assignments",
    "collections_actions",
    "collections_promises",
)


def _base(table: str) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
    ]


def _fk(table: str, column: str, other: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{other}.tenant_id", f"{other}.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{other}"),
    )


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def _created() -> sa.Column:
    return sa.Column("created_at", sdk.UTCDateTime(), nullable=False)


def upgrade() -> None:
    t = "collections_agencies"
    op.create_table(
        t,
        *_base(t),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _created(),
    )
    op.create_index("ix_collections_agencies_code", t, ["tenant_id", "code"], unique=True)

    t = "collections_agency_users"
    op.create_table(
        t,
        *_base(t),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        _fk(t, "agency_id", "collections_agencies"),
        _fk(t, "user_id", "users"),
    )
    op.create_index("ix_collections_agency_users_user", t, ["tenant_id", "user_id"], unique=True)

    t = "collections_queues"
    op.create_table(
        t,
        *_base(t),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("balancing", sa.String(length=20), nullable=False),
        sa.Column("handed_out", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _created(),
        _fk(t, "agency_id", "collections_agencies"),
        _check(t, "balancing", _in("balancing", ("round_robin", "least_loaded"))),
    )
    op.create_index("ix_collections_queues_code", t, ["tenant_id", "code"], unique=True)

    t = "collections_queue_members"
    op.create_table(
        t,
        *_base(t),
        sa.Column("queue_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        _created(),
        _fk(t, "queue_id", "collections_queues"),
        _fk(t, "user_id", "users"),
    )
    op.create_index(
        "ix_collections_queue_members_user", t, ["tenant_id", "queue_id", "user_id"], unique=True
    )

    t = "collections_rules"
    op.create_table(
        t,
        *_base(t),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("queue_id", sa.Uuid(), nullable=False),
        sa.Column("buckets", sa.String(length=200), nullable=False),
        sa.Column("product_codes", sa.String(length=200), nullable=False),
        sa.Column("min_overdue", sdk.Money(), nullable=True),
        sa.Column("max_overdue", sdk.Money(), nullable=True),
        sa.Column("org_unit_id", sa.Uuid(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _created(),
        _fk(t, "queue_id", "collections_queues"),
        _fk(t, "org_unit_id", "org_units"),
    )
    op.create_index("ix_collections_rules_position", t, ["tenant_id", "position"])

    t = "collections_scripts"
    op.create_table(
        t,
        *_base(t),
        sa.Column("bucket", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_collections_scripts_bucket", t, ["tenant_id", "bucket"], unique=True)

    t = "collections_cases"
    money: list[sa.Column] = [
        sa.Column(c, sdk.Money(), nullable=False)
        for c in ("overdue_principal", "overdue_amount", "principal_outstanding")
    ]
    op.create_table(
        t,
        *_base(t),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("loan_number", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("product_code", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("early", sa.Boolean(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=True),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=10), nullable=False),
        *money,
        sa.Column("queue_id", sa.Uuid(), nullable=True),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("org_unit_id", sa.Uuid(), nullable=False),
        sa.Column("assignment_id", sa.Uuid(), nullable=True),
        sa.Column("opened_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("closed_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("times_opened", sa.Integer(), nullable=False),
        sa.Column("custom", sdk.JSONValues, nullable=False, server_default=sa.text("'{}'")),
        _fk(t, "loan_id", "repayment_loans"),
        _fk(t, "customer_id", "customers_customers"),
        _fk(t, "queue_id", "collections_queues"),
        _fk(t, "agency_id", "collections_agencies"),
        _fk(t, "owner_id", "users"),
        _fk(t, "org_unit_id", "org_units"),
        _check(t, "status", _in("status", ("open", "closed"))),
    )
    op.create_index("ix_collections_cases_loan", t, ["tenant_id", "loan_id"], unique=True)
    op.create_index(
        "ix_collections_cases_queue", t, ["tenant_id", "status", "queue_id", "owner_id"]
    )
    op.create_index("ix_collections_cases_agency", t, ["tenant_id", "agency_id", "status"])

    t = "collections_assignments"
    op.create_table(
        t,
        *_base(t),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("queue_id", sa.Uuid(), nullable=True),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("collector_id", sa.Uuid(), nullable=True),
        sa.Column("bucket", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=10), nullable=False),
        sa.Column("started_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sdk.UTCDateTime(), nullable=True),
        *[
            sa.Column(c, sa.Integer(), nullable=False)
            for c in ("actions", "promises_made", "promises_kept", "promises_broken")
        ],
        sa.Column("collected", sdk.Money(), nullable=False),
        _fk(t, "case_id", "collections_cases"),
        _fk(t, "queue_id", "collections_queues"),
        _fk(t, "agency_id", "collections_agencies"),
        _fk(t, "collector_id", "users"),
        _check(t, "reason", _in("reason", ("opened", "rolled", "early", "manual", "reopened"))),
    )
    op.create_index("ix_collections_assignments_case", t, ["tenant_id", "case_id", "started_at"])

    t = "collections_actions"
    outcomes = (
        "promised", "paid_claimed", "no_answer", "busy", "refused", "wrong_number",
        "third_party", "callback", "delivered", "not_delivered", "met", "not_found", "other",
    )  # fmt: skip
    op.create_table(
        t,
        *_base(t),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("assignment_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("contact", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        _created(),
        _fk(t, "case_id", "collections_cases"),
        _fk(t, "assignment_id", "collections_assignments"),
        _fk(t, "user_id", "users"),
        _check(t, "kind", _in("kind", ("call", "sms", "visit", "letter", "note"))),
        _check(t, "outcome", _in("outcome", outcomes)),
    )
    op.create_index("ix_collections_actions_case", t, ["tenant_id", "case_id", "created_at"])

    t = "collections_promises"
    op.create_table(
        t,
        *_base(t),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("assignment_id", sa.Uuid(), nullable=True),
        sa.Column("amount", sdk.Money(), nullable=False),
        sa.Column("promised_on", sa.Date(), nullable=False),
        sa.Column("paid", sdk.Money(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("made_by_id", sa.Uuid(), nullable=False),
        _created(),
        sa.Column("resolved_at", sdk.UTCDateTime(), nullable=True),
        _fk(t, "case_id", "collections_cases"),
        _fk(t, "assignment_id", "collections_assignments"),
        _fk(t, "made_by_id", "users"),
        _check(t, "status", _in("status", ("open", "kept", "broken"))),
        _check(t, "amount", "amount > 0"),
    )
    op.create_index("ix_collections_promises_open", t, ["tenant_id", "status", "promised_on"])
    op.create_index("ix_collections_promises_case", t, ["tenant_id", "case_id"])

    for table in TABLES:
        sdk.enable_rls(op, table)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
