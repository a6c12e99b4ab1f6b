"""Which account at an outside provider each staff member is (their DingTalk userid, their
WeCom userid, ...), per tenant and provider: one table for every plugin that reaches staff
elsewhere or signs them in with an account there (``staff_external_accounts``). A provider is
the plugin's name. One staff member has at most one id per provider, and one id at a
provider is at most one staff member (sign-in and messages rely on it).

Plugins keep their own API and wording: they describe their ids with an ``AccountKind`` (the
field name their API uses, the pattern an id must match, their messages) and call the
functions here, or mount ``loandesk.api.external_accounts.staff_routes`` for the list/set API.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ForeignKeyConstraint, String, UniqueConstraint, Uuid, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from loandesk.audit import record as audit_record
from loandesk.auth.users import active_staff
from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow
from loandesk.errors import NotFound, ValidationFailed
from loandesk.i18n import N_
from loandesk.tenancy import rls
from loandesk.tenancy.rls import each_tenant

TABLE = "staff_external_accounts"


class StaffExternalAccount(TenantOwned, Base):
    __tablename__ = TABLE
    __table_args__ = (
        UniqueConstraint("tenant_id", "provider", "user_id"),
        UniqueConstraint("tenant_id", "provider", "external_id"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
    )

    provider: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    external_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class AccountKind:
    """A plugin's accounts: ``provider`` (the plugin's name), ``field`` (the name of the id in
    its API, errors and audit diffs, e.g. ``dingtalk_userid``), the ``pattern`` a valid id
    matches, and the messages for a malformed id and for one linked to someone else (the
    latter with ``%(name)s``). Changes are audited as ``<provider>.staff_account``."""

    provider: str
    field: str
    pattern: re.Pattern[str]
    malformed: str
    taken: str
    taken_by: str

    @property
    def audit_action(self) -> str:
        return f"{self.provider}.staff_account"


def staff_accounts(session: Session, kind: AccountKind) -> list[dict[str, Any]]:
    """Every active staff member of the current tenant with their id at the provider (None:
    none), by name: ``{"user_id", "name", <kind.field>}``."""
    linked = {
        row.user_id: row.external_id
        for row in session.execute(
            select(StaffExternalAccount.user_id, StaffExternalAccount.external_id).where(
                StaffExternalAccount.provider == kind.provider
            )
        )
    }
    return [
        {"user_id": user.id, "name": user.display_name, kind.field: linked.get(user.id)}
        for user in active_staff(session)
    ]


def link_staff(
    session: Session, kind: AccountKind, user_id: uuid.UUID, external_id: str | None
) -> None:
    """Link a staff member to an id at the provider, or unlink them with None; audited.
    ``NotFound`` for no such active staff member; ``ValidationFailed`` for a malformed id or
    one linked to another staff member (naming them)."""
    staff = {u.id: u for u in active_staff(session)}
    if user_id not in staff:
        raise NotFound(N_("No such staff member."))
    if external_id is not None and not kind.pattern.match(external_id):
        raise ValidationFailed(
            N_("Some fields need attention."), errors={kind.field: [kind.malformed]}
        )
    if external_id is not None:
        holder = user_of_external_id(session, kind.provider, external_id)
        if holder is not None and holder != user_id:
            name = staff[holder].display_name if holder in staff else ""
            raise ValidationFailed(
                kind.taken_by, errors={kind.field: [kind.taken]}, params={"name": name}
            )
    row = session.scalar(
        select(StaffExternalAccount).where(
            StaffExternalAccount.provider == kind.provider,
            StaffExternalAccount.user_id == user_id,
        )
    )
    before = row.external_id if row else None
    if before == external_id:
        return
    if external_id is None:
        session.execute(
            delete(StaffExternalAccount).where(
                StaffExternalAccount.provider == kind.provider,
                StaffExternalAccount.user_id == user_id,
            )
        )
    elif row is None:
        session.add(
            StaffExternalAccount(
                provider=kind.provider,
                user_id=user_id,
                external_id=external_id,
                updated_at=utcnow(),
            )
        )
    else:
        row.external_id, row.updated_at = external_id, utcnow()
    session.flush()
    audit_record(
        session, kind.audit_action, "user", str(user_id), {kind.field: [before, external_id]}
    )


def user_of_external_id(session: Session, provider: str, external_id: str) -> uuid.UUID | None:
    """The current tenant's staff member linked to ``external_id`` at ``provider``, or None."""
    return session.scalar(
        select(StaffExternalAccount.user_id).where(
            StaffExternalAccount.provider == provider,
            StaffExternalAccount.external_id == external_id,
        )
    )


def external_id_of(session: Session, provider: str, user_id: uuid.UUID) -> str | None:
    """The staff member's id at ``provider``, or None."""
    return session.scalar(
        select(StaffExternalAccount.external_id).where(
            StaffExternalAccount.provider == provider, StaffExternalAccount.user_id == user_id
        )
    )


# --- plugin migrations that move their own mapping table here --------------------------------


def _tables(table: str, column: str) -> tuple[sa.TableClause, sa.TableClause]:
    common = (
        sa.column("tenant_id", sa.Uuid),
        sa.column("id", sa.Uuid),
        sa.column("user_id", sa.Uuid),
        sa.column("updated_at", sa.DateTime),
    )
    old = sa.table(table, *common, sa.column(column, sa.String))
    core = sa.table(
        TABLE,
        *[sa.column(c.name, c.type) for c in common],
        sa.column("provider", sa.String),
        sa.column("external_id", sa.String),
    )
    return old, core


def shared_accounts(op: Any, *, table: str, column: str) -> list[tuple[uuid.UUID, str]]:
    """(tenant, id) of each id a plugin's old mapping ``table`` links to several staff
    members: the core's table takes one staff member per id."""
    old, _core = _tables(table, column)
    bind = op.get_bind()
    found: list[tuple[uuid.UUID, str]] = []
    for tenant in each_tenant(op):
        query = (
            sa.select(old.c.tenant_id, old.c[column])
            .where(old.c.tenant_id == tenant)
            .group_by(old.c.tenant_id, old.c[column])
            .having(sa.func.count() > 1)
        )
        found.extend((row[0], row[1]) for row in bind.execute(query).all())
    return found


def restore_accounts(
    op: Any, *, table: str, column: str, provider: str, unique_external_id: bool
) -> None:
    """A plugin migration's downgrade: its old mapping table as it was (tenant_id, id, user_id,
    <column>, updated_at; one row per staff member, and with ``unique_external_id`` one per
    id; RLS), with ``provider``'s rows moved back into it."""
    unique = [
        sa.UniqueConstraint("tenant_id", "user_id", name=op.f(f"uq_{table}_tenant_id_user_id"))
    ]
    if unique_external_id:
        unique.append(
            sa.UniqueConstraint("tenant_id", column, name=op.f(f"uq_{table}_tenant_id_{column}"))
        )
    op.create_table(
        table,
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(column, sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f(f"fk_{table}_tenant_id_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
        *unique,
    )
    rls.enable(op, table)
    move_accounts(op, table=table, column=column, provider=provider, into_core=False)


def move_accounts(op: Any, *, table: str, column: str, provider: str, into_core: bool) -> None:
    """Copy a plugin's old mapping rows (``table`` with the id in ``column``: tenant_id, id,
    user_id, <column>, updated_at) into ``staff_external_accounts`` as ``provider``'s
    (``into_core``), or back out of it, deleting them there; tenant by tenant."""
    old, core = _tables(table, column)
    bind = op.get_bind()
    for tenant in each_tenant(op):
        if into_core:
            rows = sa.select(
                old.c.tenant_id,
                old.c.id,
                sa.literal(provider),
                old.c.user_id,
                old.c[column],
                old.c.updated_at,
            ).where(old.c.tenant_id == tenant)
            bind.execute(
                core.insert().from_select(
                    ["tenant_id", "id", "provider", "user_id", "external_id", "updated_at"], rows
                )
            )
            continue
        mine = sa.and_(core.c.tenant_id == tenant, core.c.provider == provider)
        rows = sa.select(
            core.c.tenant_id, core.c.id, core.c.user_id, core.c.external_id, core.c.updated_at
        ).where(mine)
        bind.execute(
            old.insert().from_select(["tenant_id", "id", "user_id", column, "updated_at"], rows)
        )
        bind.execute(core.delete().where(mine))
