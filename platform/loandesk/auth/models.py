"""Users, their two-factor recovery codes, API clients and their access tokens: all
tenant-owned."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow
from loandesk.rbac.catalog import ADMIN_ROLE
from loandesk.rbac.models import Role, UserRole  # noqa: F401  (the relationship's tables)


class User(TenantOwned, Base):
    """A tenant's staff member (员工账号). The same e-mail may exist in two tenants."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        CheckConstraint("status in ('invited', 'active', 'deactivated')", name="status"),
        ForeignKeyConstraint(["tenant_id", "org_unit_id"], ["org_units.tenant_id", "org_units.id"]),
    )

    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    locale: Mapped[str | None] = mapped_column(String(16))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invite_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    org_unit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    # Two-factor sign-in (TOTP, loandesk.auth.two_factor). The secret is encrypted with the
    # tenant's data key and bound to this row; it is set while enrolling, and the user has
    # two-factor sign-in once ``totp_enabled_at`` is set too. ``totp_last_step`` is the time
    # step of the last code accepted: a code is accepted only for a later step (no replay).
    totp_secret_enc: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    roles: Mapped[list[Role]] = relationship(
        secondary="user_roles",
        primaryjoin="and_(User.tenant_id == UserRole.tenant_id, User.id == UserRole.user_id)",
        secondaryjoin="and_(Role.tenant_id == UserRole.tenant_id, Role.id == UserRole.role_id)",
        viewonly=True,
        lazy="selectin",
        order_by="Role.key",
    )

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_admin(self) -> bool:
        """Holds the tenant admin role (every permission)."""
        return any(role.key == ADMIN_ROLE for role in self.roles)

    @property
    def permissions(self) -> frozenset[str]:
        from loandesk.rbac.service import permissions_of

        return permissions_of(self.roles)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None and self.totp_secret_enc is not None


class RecoveryCode(TenantOwned, Base):
    """A one-time code that stands in for a two-factor code (lost phone). Shown once when
    made; only its SHA-256 is stored (the codes are random, 80 bits: no need for a slow hash).
    """

    __tablename__ = "user_recovery_codes"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        UniqueConstraint("tenant_id", "user_id", "code_hash"),  # also finds a user's codes
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiClient(TenantOwned, Base):
    """A machine client of the API (OAuth2 client credentials). The secret is stored hashed."""

    __tablename__ = "api_clients"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "created_by_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "acts_as_id"], ["users.tenant_id", "users.id"]),
    )

    client_id: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(1000))  # space-separated, as in OAuth2
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The staff member whose grants (data scope, field permissions) apply to record data
    # read or written with this client's tokens; none: no record data at all.
    acts_as_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship(
        foreign_keys=[created_by_id],
        primaryjoin="and_(ApiClient.tenant_id == User.tenant_id, "
        "ApiClient.created_by_id == User.id)",
        viewonly=True,
    )

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class ApiToken(TenantOwned, Base):
    """A bearer access token issued to an API client; only its hash is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "client_pk"], ["api_clients.tenant_id", "api_clients.id"]
        ),
    )

    client_pk: Mapped[uuid.UUID] = mapped_column(Uuid)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(1000))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[ApiClient] = relationship(
        primaryjoin="and_(ApiToken.tenant_id == ApiClient.tenant_id, "
        "ApiToken.client_pk == ApiClient.id)",
        foreign_keys=[client_pk],
        viewonly=True,
    )

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()
