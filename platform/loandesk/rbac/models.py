"""Roles of a tenant and who holds them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow


class Role(TenantOwned, Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    key: Mapped[str] = mapped_column(String(40))
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(300), default="")
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def name(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en


class UserRole(TenantOwned, Base):
    __tablename__ = "user_roles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "role_id"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "role_id"], ["roles.tenant_id", "roles.id"]),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    role_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class OrgUnit(TenantOwned, Base):
    """A node of the tenant's organisation (组织/部门): the company at the root, branches
    (分公司) and teams (小组) below, each with an optional head (负责人)."""

    __tablename__ = "org_units"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["org_units.tenant_id", "org_units.id"]),
        # users point at their unit and a unit at its head: created after both tables
        ForeignKeyConstraint(
            ["tenant_id", "head_user_id"], ["users.tenant_id", "users.id"], use_alter=True
        ),
        CheckConstraint("kind in ('company', 'branch', 'team')", name="kind"),
    )

    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    head_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoleRecordAccess(TenantOwned, Base):
    """What one role may do with one record type: its data scope, per field an access level
    (hidden / masked / view / edit; a field not listed is hidden), and the fields it may
    export. A role without a row for a record type cannot see such records at all."""

    __tablename__ = "role_record_access"
    __table_args__ = (
        UniqueConstraint("tenant_id", "role_id", "record_type"),
        ForeignKeyConstraint(["tenant_id", "role_id"], ["roles.tenant_id", "roles.id"]),
        CheckConstraint("scope in ('own', 'team', 'unit', 'all')", name="scope"),
    )

    role_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    record_type: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(8))
    fields: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    export: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
