"""repayment: funders, loans and their funders' shares, installments, payments, allocations
and the loan ledger

Revision ID: rp001
Revises:
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "rp001"
down_revision = None
branch_labels = ("repayment",)
depends_on = ("c006", "0029")


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


def upgrade() -> None:
    t = "repayment_funders"
    op.create_table(
        t,
        *_base(t),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        _check(t, "kind", "kind in ('own', 'partner')"),
    )
    op.create_index("ix_repayment_funders_code", t, ["tenant_id", "code"], unique=True)

    t = "repayment_loans"
    op.create_table(
        t,
        *_base(t),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=True),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("product_terms", sdk.JSONValues, nullable=False),
        sa.Column("terms", sdk.JSONValues, nullable=False),
        sa.Column("principal", sdk.Money(), nullable=False),
        sa.Column("periods", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("disbursed_on", sa.Date(), nullable=True),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.Column("annual_rate_irr", sa.String(length=20), nullable=True),
        sa.Column("credit_balance", sdk.Money(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("booked_by_id", sa.Uuid(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("org_unit_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("custom", sdk.JSONValues, nullable=False, server_default=sa.text("'{}'")),
        _fk(t, "customer_id", "customers_customers"),
        _fk(t, "owner_id", "users"),
        _fk(t, "org_unit_id", "org_units"),
        _check(t, "status", "status in ('pending', 'active', 'settled')"),
        _check(t, "principal", "principal > 0"),
        _check(t, "credit_balance", "credit_balance >= 0"),
    )
    op.create_index("ix_repayment_loans_number", t, ["tenant_id", "number"], unique=True)
    op.create_index("ix_repayment_loans_customer", t, ["tenant_id", "customer_id"])
    op.create_index("ix_repayment_loans_scope", t, ["tenant_id", "org_unit_id", "owner_id"])
    op.create_index(
        "ix_repayment_loans_idempotency_key", t, ["tenant_id", "idempotency_key"], unique=True
    )

    t = "repayment_loan_funders"
    op.create_table(
        t,
        *_base(t),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("funder_id", sa.Uuid(), nullable=False),
        sa.Column("share", sa.Integer(), nullable=False),
        _fk(t, "loan_id", "repayment_loans"),
        _fk(t, "funder_id", "repayment_funders"),
        _check(t, "share", "share > 0 and share <= 1000000"),
    )
    op.create_index(
        "ix_repayment_loan_funders_loan", t, ["tenant_id", "loan_id", "funder_id"], unique=True
    )

    t = "repayment_installments"
    money = [
        f"{part}_{side}"
        for side in ("due", "paid")
        for part in ("principal", "interest", "fees", "penalty")
    ]
    op.create_table(
        t,
        *_base(t),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        *[sa.Column(name, sdk.Money(), nullable=False) for name in money],
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        _fk(t, "loan_id", "repayment_loans"),
        _check(t, "status", "status in ('pending', 'partial', 'paid')"),
        _check(
            t,
            "paid",
            "principal_paid between 0 and principal_due and interest_paid between 0 and "
            "interest_due and fees_paid between 0 and fees_due and penalty_paid between 0 "
            "and penalty_due",
        ),
    )
    op.create_index(
        "ix_repayment_installments_loan", t, ["tenant_id", "loan_id", "number"], unique=True
    )
    op.create_index("ix_repayment_installments_due", t, ["tenant_id", "due_date", "status"])

    t = "repayment_payments"
    op.create_table(
        t,
        *_base(t),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("amount", sdk.Money(), nullable=False),
        sa.Column("to_credit", sdk.Money(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("posted_by_id", sa.Uuid(), nullable=True),
        sa.Column("posted_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("settled_loan", sa.Boolean(), nullable=False),
        sa.Column("reversed_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("reversed_by_id", sa.Uuid(), nullable=True),
        sa.Column("reversal_reason", sa.String(length=500), nullable=True),
        _fk(t, "loan_id", "repayment_loans"),
        _check(t, "amount", "amount > 0"),
        _check(t, "status", "status in ('posted', 'reversed')"),
        _check(t, "source", "source in ('staff', 'api', 'import', 'credit')"),
    )
    op.create_index(
        "ix_repayment_payments_loan", t, ["tenant_id", "loan_id", "sequence"], unique=True
    )
    op.create_index(
        "ix_repayment_payments_idempotency_key", t, ["tenant_id", "idempotency_key"], unique=True
    )

    t = "repayment_allocations"
    op.create_table(
        t,
        *_base(t),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("installment_id", sa.Uuid(), nullable=True),
        sa.Column("part", sa.String(length=10), nullable=False),
        sa.Column("amount", sdk.Money(), nullable=False),
        sa.Column("reversal", sa.Boolean(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        _fk(t, "payment_id", "repayment_payments"),
        _fk(t, "installment_id", "repayment_installments"),
        _check(t, "part", "part in ('penalty', 'fees', 'interest', 'principal', 'credit')"),
        _check(t, "amount", "amount <> 0"),
    )
    op.create_index("ix_repayment_allocations_payment", t, ["tenant_id", "payment_id"])

    t = "repayment_ledger"
    op.create_table(
        t,
        *_base(t),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("account", sa.String(length=30), nullable=False),
        sa.Column("debit", sdk.Money(), nullable=False),
        sa.Column("credit", sdk.Money(), nullable=False),
        sa.Column("funder_id", sa.Uuid(), nullable=True),
        sa.Column("event", sa.String(length=12), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        _fk(t, "loan_id", "repayment_loans"),
        _fk(t, "payment_id", "repayment_payments"),
        _check(t, "sides", "debit >= 0 and credit >= 0 and (debit = 0 or credit = 0)"),
    )
    op.create_index("ix_repayment_ledger_loan", t, ["tenant_id", "loan_id", "account"])

    for table in (
        "repayment_funders",
        "repayment_loans",
        "repayment_loan_funders",
        "repayment_installments",
        "repayment_payments",
        "repayment_allocations",
        "repayment_ledger",
    ):
        sdk.enable_rls(op, table)


def downgrade() -> None:
    for table in (
        "repayment_ledger",
        "repayment_allocations",
        "repayment_payments",
        "repayment_installments",
        "repayment_loan_funders",
        "repayment_loans",
        "repayment_funders",
    ):
        op.drop_table(table)
