"""repayment: installments carry their loan's number, borrower, credit officer, unit and
product code (the installment record type: automation rules such as product reminders read
them, and data scopes filter by owner and unit), copied from the loans for existing rows, and
the tenant's own fields (``custom``, as every record type has); and
the links from a product to the automation rules that are its reminders

Revision ID: rp004
Revises: rp002
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "rp004"
down_revision = "rp002"
branch_labels = None
depends_on = None

I = "repayment_installments"  # noqa: E741
R = "repayment_reminders"
COPIED = ("loan_number", "customer_id", "owner_id", "org_unit_id", "product_code")


def _from_loan(column: str) -> str:
    # the SQL is made of this file's constants only
    return (
        f"(select {column} from repayment_loans l "  # noqa: S608
        f"where l.tenant_id = {I}.tenant_id and l.id = {I}.loan_id)"
    )


def upgrade() -> None:
    with op.batch_alter_table(I) as batch:
        batch.add_column(sa.Column("loan_number", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("customer_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("owner_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("org_unit_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("product_code", sa.String(length=50), nullable=True))
        batch.add_column(sa.Column("custom", sdk.JSONValues, nullable=True))
    code = (
        "l.product_terms ->> 'code'"
        if op.get_bind().dialect.name == "postgresql"
        else "json_extract(l.product_terms, '$.code')"
    )
    copy = sa.text(
        f"update {I} set "  # noqa: S608
        f"loan_number = {_from_loan('number')}, "
        f"customer_id = {_from_loan('customer_id')}, "
        f"owner_id = {_from_loan('owner_id')}, "
        f"org_unit_id = {_from_loan('org_unit_id')}, "
        f"product_code = {_from_loan(code)}, "
        "custom = '{}' "
        "where tenant_id = :tenant"
    )
    # row-level security (FORCE binds the owner too): with no tenant set the update saw no
    # row on PostgreSQL, and the NOT NULL below then failed on any existing installment
    for tenant in sdk.each_tenant(op):
        op.get_bind().execute(copy.bindparams(sa.bindparam("tenant", tenant, type_=sa.Uuid)))
    with op.batch_alter_table(I) as batch:
        for column in (*COPIED, "custom"):
            batch.alter_column(column, nullable=False)
        for column, other in (
            ("customer_id", "customers_customers"),
            ("owner_id", "users"),
            ("org_unit_id", "org_units"),
        ):
            batch.create_foreign_key(
                op.f(f"fk_{I}_tenant_id_{column}_{other}"),
                other,
                ["tenant_id", column],
                ["tenant_id", "id"],
            )

    op.create_table(
        R,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{R}_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "rule_id"],
            ["automation_rules.tenant_id", "automation_rules.id"],
            name=op.f(f"fk_{R}_tenant_id_rule_id_automation_rules"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("kind in ('before', 'due_day')", name=op.f(f"ck_{R}_kind")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{R}")),
    )
    op.create_index(f"ix_{R}_product", R, ["tenant_id", "product_id", "kind"], unique=True)
    op.create_index(f"ix_{R}_rule", R, ["tenant_id", "rule_id"], unique=True)
    sdk.enable_rls(op, R)


def downgrade() -> None:
    op.drop_table(R)
    with op.batch_alter_table(I) as batch:
        for column, other in (
            ("org_unit_id", "org_units"),
            ("owner_id", "users"),
            ("customer_id", "customers_customers"),
        ):
            batch.drop_constraint(op.f(f"fk_{I}_tenant_id_{column}_{other}"), type_="foreignkey")
        for column in ("custom", *reversed(COPIED)):
            batch.drop_column(column)
