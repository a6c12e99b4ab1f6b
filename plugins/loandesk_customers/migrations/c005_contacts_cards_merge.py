"""customers: emergency contacts, bank cards, ID card photos and merged duplicates

Revision ID: c005
Revises: c004
"""

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "c005"
down_revision = "c004"
branch_labels = None
depends_on = None


def _personal(field: str) -> list[sa.Column]:
    return [
        sa.Column(f"{field}_enc", sa.Text(), nullable=True),
        sa.Column(f"{field}_hash", sa.String(length=64), nullable=True),
    ]


def _customer_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "customer_id"],
        ["customers_customers.tenant_id", "customers_customers.id"],
        name=op.f(f"fk_{table}_tenant_id_customer_id_customers_customers"),
    )


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")
    )


def upgrade() -> None:
    with op.batch_alter_table("customers_customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id_photo_front", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("id_photo_back", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("merged_at", sdk.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_customers_customers_tenant_id_merged_into_id_customers_customers"),
            "customers_customers",
            ["tenant_id", "merged_into_id"],
            ["tenant_id", "id"],
        )
    op.create_table(
        "customers_contacts",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sdk.UTCDateTime(), nullable=False),
        *_personal("mobile"),
        sa.CheckConstraint(
            "relation in ('spouse', 'parent', 'sibling', 'child', 'colleague', 'friend', 'other')",
            name=op.f("ck_customers_contacts_relation"),
        ),
        _customer_fk("customers_contacts"),
        _tenant_fk("customers_contacts"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_customers_contacts")),
    )
    op.create_index(
        "ix_customers_contacts_customer", "customers_contacts", ["tenant_id", "customer_id"]
    )
    op.create_index(
        op.f("ix_customers_contacts_mobile_hash"), "customers_contacts", ["mobile_hash"]
    )
    sdk.enable_rls(op, "customers_contacts")
    op.create_table(
        "customers_bank_cards",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("bank_name", sa.String(length=60), nullable=False),
        sa.Column("holder_name", sa.String(length=50), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sdk.UTCDateTime(), nullable=False),
        *_personal("card_number"),
        sa.CheckConstraint(
            "purpose in ('disbursement', 'repayment')",
            name=op.f("ck_customers_bank_cards_purpose"),
        ),
        _customer_fk("customers_bank_cards"),
        _tenant_fk("customers_bank_cards"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_customers_bank_cards")),
        sa.UniqueConstraint(
            "tenant_id",
            "customer_id",
            "card_number_hash",
            name=op.f("uq_customers_bank_cards_tenant_id_customer_id_card_number_hash"),
        ),
    )
    op.create_index(
        op.f("ix_customers_bank_cards_card_number_hash"),
        "customers_bank_cards",
        ["card_number_hash"],
    )
    sdk.enable_rls(op, "customers_bank_cards")


def downgrade() -> None:
    op.drop_table("customers_bank_cards")
    op.drop_table("customers_contacts")
    with op.batch_alter_table("customers_customers", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_customers_customers_tenant_id_merged_into_id_customers_customers"),
            type_="foreignkey",
        )
        for column in ("merged_at", "merged_into_id", "id_photo_back", "id_photo_front"):
            batch_op.drop_column(column)
