"""contracts: templates, letterhead, number counters, contracts and signing codes

Revision ID: ct001
Revises:
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "ct001"
down_revision = None
branch_labels = ("contracts",)
depends_on = "0029"


def _owned(table: str, *columns: sa.Column, extra: tuple[Any, ...] = ()) -> None:
    op.create_table(
        table,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        *columns,
        *extra,
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
    )
    sdk.enable_rls(op, table)


def upgrade() -> None:
    _owned(
        "contracts_templates",
        sa.Column("product_key", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("css", sa.Text(), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_contracts_templates_product",
        "contracts_templates",
        ["tenant_id", "product_key"],
        unique=True,
    )
    _owned(
        "contracts_letterheads",
        sa.Column("firm_name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("logo_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
    )
    _owned(
        "contracts_counters",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_contracts_counters_year", "contracts_counters", ["tenant_id", "year"], unique=True
    )
    _owned(
        "contracts_contracts",
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("loan_number", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("borrower_name", sa.String(length=50), nullable=False),
        sa.Column("product_name", sa.String(length=100), nullable=False),
        sa.Column("principal", sdk.Money(), nullable=False),
        sa.Column("periods", sa.Integer(), nullable=False),
        sa.Column("annual_rate_irr", sa.Numeric(12, 6), nullable=False),
        sa.Column("apr", sa.Numeric(12, 6), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf_id", sa.Uuid(), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("signed_pdf_id", sa.Uuid(), nullable=True),
        sa.Column("signed_pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=60), nullable=False),
        sa.Column("provider_reference", sa.String(length=200), nullable=False),
        sa.Column("signing_url", sa.Text(), nullable=False),
        sa.Column("link_nonce", sa.String(length=32), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.Column("sent_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("signed_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("voided_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("void_reason", sa.String(length=500), nullable=False),
        sa.Column("expired_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
        extra=(
            sa.CheckConstraint(
                "status in ('draft', 'sent', 'signed', 'void', 'expired')",
                name=op.f("ck_contracts_contracts_status"),
            ),
        ),
    )
    op.create_index(
        "ix_contracts_contracts_number", "contracts_contracts", ["tenant_id", "number"], unique=True
    )
    op.create_index(
        "ix_contracts_contracts_loan_live",
        "contracts_contracts",
        ["tenant_id", "loan_id"],
        unique=True,
        sqlite_where=sa.text("status != 'void'"),
        postgresql_where=sa.text("status != 'void'"),
    )
    op.create_index(
        "ix_contracts_contracts_status",
        "contracts_contracts",
        ["tenant_id", "status", "expires_on"],
    )
    _owned(
        "contracts_signing_codes",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sdk.UTCDateTime(), nullable=True),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        extra=(
            sa.ForeignKeyConstraint(
                ["tenant_id", "contract_id"],
                ["contracts_contracts.tenant_id", "contracts_contracts.id"],
                name=op.f("fk_contracts_signing_codes_tenant_id_contract_id_contracts_contracts"),
            ),
        ),
    )
    op.create_index(
        "ix_contracts_signing_codes_contract",
        "contracts_signing_codes",
        ["tenant_id", "contract_id"],
    )


def downgrade() -> None:
    for table in (
        "contracts_signing_codes",
        "contracts_contracts",
        "contracts_counters",
        "contracts_letterheads",
        "contracts_templates",
    ):
        op.drop_table(table)
