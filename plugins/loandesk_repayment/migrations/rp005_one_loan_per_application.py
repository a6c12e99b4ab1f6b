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

revision = "rp005"
down_revision = "rp004"
branch_labels = None
depends_on = None

T = "repayment_loans"


def _shared_applications() -> list[str]:
    """One line per application that holds more than one loan: its tenant, its id and the
    loans' numbers (read as the owner, so row-level security hides none)."""
    rows = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT tenant_id, application_id, number FROM repayment_loans "
                "WHERE application_id IN (SELECT application_id FROM repayment_loans "
                "WHERE application_id IS NOT NULL "
                "GROUP BY tenant_id, application_id HAVING COUNT(*) > 1) "
                "ORDER BY tenant_id, application_id, number"
            )
        )
        .all()
    )
    shared: dict[tuple[str, str], list[str]] = {}
    for tenant_id, application_id, number in rows:
        key = (str(uuid.UUID(str(tenant_id))), str(uuid.UUID(str(application_id))))
        shared.setdefault(key, []).append(number)
    return [
        f"tenant {tenant} application {application}: loans {', '.join(numbers)}"
        for (tenant, application), numbers in shared.items()
        if len(numbers) > 1
    ]


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
