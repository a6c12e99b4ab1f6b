"""Single sign-on with OpenID Connect: a tenant's provider, and which provider account is whose."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKeyConstraint, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow


class SsoConfig(TenantOwned, Base):
    """A tenant's OpenID Connect provider (one per tenant). The client secret is a ciphertext
    under the tenant's data keys (``loandesk.pii``), bound to this row; it is never shown."""

    __tablename__ = "sso_configs"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        ForeignKeyConstraint(["tenant_id", "updated_by_id"], ["users.tenant_id", "users.id"]),
    )

    issuer: Mapped[str] = mapped_column(String(300))
    client_id: Mapped[str] = mapped_column(String(200))
    client_secret: Mapped[str] = mapped_column(String(2000))
    display_name: Mapped[str] = mapped_column(String(60))
    scopes: Mapped[str] = mapped_column(String(300))  # space-separated, "openid" among them
    # Where the provider puts groups or roles: a claim name, or a dotted path into nested
    # claims (Keycloak: ``realm_access.roles``).
    role_claim: Mapped[str] = mapped_column(String(100))
    # claim value → LoanDesk role keys; a user's roles are set from it at every sign-in
    role_mapping: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    provision_users: Mapped[bool] = mapped_column(Boolean, default=False)
    # Whether staff who are not tenant admins may still sign in with a password.
    password_sign_in: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class UserIdentity(TenantOwned, Base):
    """A provider account (issuer + subject) linked to a user: found by it at every sign-in,
    whatever the e-mail address on either side later becomes."""

    __tablename__ = "user_identities"
    __table_args__ = (
        UniqueConstraint("tenant_id", "issuer", "subject"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
