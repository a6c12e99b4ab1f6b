"""repayment: one loan per application — a partial unique index on the loans' application_id

Revision ID: rp005
Revises: rp004

No loan status means "cancelled" yet (pending → active → settled), so every loan that names an
application holds it. Should a pending loan ever be cancelled, narrow the index to the loans
that are not (``... AND status <> 'cancelled'``) in the same change.

Loans booked before this revision could, by a double submission, share an application. The
upgrade then stops before the index and names them (tenant, application, loan numbers), for
the firm's finance staff to decide which loan stands; it never removes a loan itself.
"""

import uuid

import sqlalchemy as sa
from alembic import op

from loandesk import sdk

revision = "rp005"
down_revision = "rp004"
branch_labels = None
depends_on = None

T = "repayment_loans"


def _shared_applications() -> list[str]:
    """One line per application that holds more than one loan: its tenant, its id and the
    loans' numbers; tenant by tenant (row-level security shows the owner only the tenant set)."""
    loans = sa.table(
        "repayment_loans",
        sa.column("tenant_id", sa.Uuid),
        sa.column("application_id", sa.Uuid),
        sa.column("number", sa.String),
    )
    bind = op.get_bind()
    lines = []
    for tenant in sdk.each_tenant(op):
        shared = (
            sa.select(loans.c.application_id)
            .where(loans.c.tenant_id == tenant, loans.c.application_id.is_not(None))
            .group_by(loans.c.application_id)
            .having(sa.func.count() > 1)
        )
        found: dict[uuid.UUID, list[str]] = {}
        rows = bind.execute(
            sa.select(loans.c.application_id, loans.c.number)
            .where(loans.c.tenant_id == tenant, loans.c.application_id.in_(shared))
            .order_by(loans.c.application_id, loans.c.number)
        )
        for application_id, number in rows:
            found.setdefault(application_id, []).append(number)
        lines += [
            f"tenant {tenant} application {application}: loans {', '.join(numbers)}"
            for application, numbers in found.items()
        ]
    return lines


def upgrade() -> None:
    shared = _shared_applications()
    if shared:
        raise RuntimeError(
            "rp005 makes a loan's application unique, but these applications hold more than "
            "one loan:\n  " + "\n  ".join(shared) + "\nDecide with the firm's finance staff "
            "which loan stands, settle or remove the others, then run `loandesk db upgrade` "
            "again (nothing was changed by this revision)."
        )
    op.create_index(
        "ix_repayment_loans_application",
        T,
        ["tenant_id", "application_id"],
        unique=True,
        sqlite_where=sa.text("application_id IS NOT NULL"),
        postgresql_where=sa.text("application_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_repayment_loans_application", table_name=T)
