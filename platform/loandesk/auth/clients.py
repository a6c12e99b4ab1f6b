"""API clients (OAuth2 client credentials) and their bearer tokens.

A client id and an access token carry their tenant's id in clear (``ldc_<tenant>_<random>``,
``ldt_<tenant>_<random>``): the tenant must be known before its rows can be read, because on
PostgreSQL row-level security hides every tenant-owned row until the tenant is set. The random
part is what authenticates; only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.auth.models import ApiClient, ApiToken, User
from loandesk.db import utcnow
from loandesk.errors import NotFound, ValidationFailed
from loandesk.i18n import N_

CLIENT_PREFIX = "ldc"
TOKEN_PREFIX = "ldt"  # noqa: S105  (a prefix, not a secret)

# The scopes the foundation knows, with their labels (message ids). Later modules add theirs
# through the permission registry.
SCOPES: dict[str, str] = {
    "users:read": N_("Read users"),
    "users:write": N_("Invite, edit and deactivate users"),
    "api-clients:read": N_("Read API clients"),
    "api-clients:write": N_("Create and revoke API clients"),
    "roles:read": N_("Read roles and permissions"),
    "roles:write": N_("Manage roles and give staff their roles"),
    "plugins:read": N_("Read plugins and their settings"),
    "plugins:write": N_("Enable and disable plugins, change their settings"),
    "org-units:read": N_("Read the organisation tree"),
    "org-units:write": N_("Change the organisation tree"),
    "fields:read": N_("Read record types, their fields and forms"),
    "fields:write": N_("Define custom fields, arrange and publish forms"),
    "flows:read": N_("Read approval flows: drafts, published versions, test runs"),
    "flows:write": N_("Design and publish approval flows, as a staff member who manages them"),
    "approvals:read": N_("Read approvals and the inbox of the staff member the client acts for"),
    "approvals:write": N_("Approve, reject and comment, as the staff member the client acts for"),
    "automations:read": N_("Read automation rules and their run logs"),
    "automations:write": N_(
        "Create, change and retry automation rules, as a staff member who manages them"
    ),
    "todos:read": N_("Read the to-dos of the staff member the client acts for"),
    "todos:write": N_(
        "Create, change and tick off to-dos, as the staff member the client acts for"
    ),
    "reports:read": N_("Run reports, as the staff member the client acts for"),
    "reports:write": N_("Save, change and delete reports, as the staff member the client acts for"),
    "records:read": N_("Read business records, as the staff member the client acts for"),
    "records:write": N_("Change business records, as the staff member the client acts for"),
    "security:read": N_("Read the security settings"),
    "security:write": N_("Change the security settings"),
    "sso:read": N_("Read the single sign-on settings"),
    "sso:write": N_("Change the single sign-on settings"),
    "data-requests:read": N_("Read data-subject requests"),
    "data-requests:write": N_("Record, change and answer data-subject requests"),
    "notifications:read": N_(
        "Read the quiet hours, the SMS templates and the log of messages to borrowers"
    ),
    "notifications:write": N_(
        "Set the quiet hours and the SMS templates and send failed messages again"
    ),
    "privacy:read": N_("Read retention periods and request deadlines"),
    "privacy:write": N_("Set retention periods and request deadlines"),
}

# What the staff member a client acts for must hold (one of) for the client to use an
# administration scope: a client acting for someone never does more than they may. A client
# acting for nobody (a machine's, made by an admin) is bounded by its scopes alone. The other
# scopes reach business records, approvals, to-dos, reports and rule designs, whose endpoints
# check the acting staff member's own grants; ``fields:read``, ``flows:read`` and
# ``org-units:read`` read the configuration every staff member's forms are built from, and
# ``automations:read`` reads the rules (docs/api.md: changing them takes automations.manage).
ACTING_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "users:read": ("users.read", "users.write"),
    "users:write": ("users.write",),
    "api-clients:read": ("api_clients.manage",),
    "api-clients:write": ("api_clients.manage",),
    "roles:read": ("roles.manage",),
    "roles:write": ("roles.manage",),
    "plugins:read": ("plugins.manage",),
    "plugins:write": ("plugins.manage",),
    "org-units:write": ("org.manage",),
    "fields:write": ("fields.manage",),
    "security:read": ("security.manage",),
    "security:write": ("security.manage",),
    "sso:read": ("security.manage",),
    "sso:write": ("security.manage",),
    "data-requests:read": ("data_requests.read", "data_requests.manage"),
    "data-requests:write": ("data_requests.manage",),
    "notifications:read": ("notifications.manage", "notifications.read_log"),
    "notifications:write": ("notifications.manage",),
    "privacy:read": ("privacy.manage",),
    "privacy:write": ("privacy.manage",),
}


def tenant_of(identifier: str, prefix: str) -> uuid.UUID | None:
    """The tenant id inside a client id or token, or None when it is malformed."""
    parts = identifier.split("_", 2)
    if len(parts) != 3 or parts[0] != prefix:
        return None
    try:
        return uuid.UUID(hex=parts[1])
    except ValueError:
        return None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewClient:
    client: ApiClient
    client_secret: str  # shown once, then only its hash exists


def create_client(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    name: str,
    scopes: list[str],
    created_by_id: uuid.UUID | None,
    acts_as_id: uuid.UUID | None = None,
    maker: User | None = None,
) -> NewClient:
    """A client with ``scopes``; ``acts_as_id`` names the active staff member whose data
    scope and field permissions apply when its tokens read or write business records.

    ``maker`` is the staff member making it (the signed-in user, or the one the calling
    client acts for; None for the command line). A client holds no more than its maker: one
    who is not a tenant admin makes clients that act for themselves only, since a client
    acting for nobody is bounded by its scopes alone and one acting for another by that
    person's permissions."""
    errors: dict[str, list[str]] = {}
    if acts_as_id is not None:
        acting = session.scalar(select(User).where(User.id == acts_as_id))
        if acting is None or not acting.is_active:
            errors["acts_as_id"] = [N_("Choose an active staff member.")]
    if maker is not None and not maker.is_admin and acts_as_id != maker.id:
        errors["acts_as_id"] = [
            N_("Only a tenant admin may make a client that acts for someone else or for nobody.")
        ]
    name = name.strip()
    if not name:
        errors["name"] = [N_("Enter a name.")]
    elif len(name) > 100:
        errors["name"] = [N_("Use at most 100 characters.")]
    unknown = sorted(set(scopes) - SCOPES.keys())
    if unknown:
        errors["scopes"] = [N_("Choose scopes from the list.")]
        raise ValidationFailed(
            N_("Unknown scope: %(scope)s"), errors=errors, params={"scope": ", ".join(unknown)}
        )
    if not scopes:
        errors["scopes"] = [N_("Choose at least one scope.")]
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        client_id=f"{CLIENT_PREFIX}_{tenant_id.hex}_{secrets.token_hex(8)}",
        name=name,
        secret_hash=digest(secret),
        scope=" ".join(s for s in SCOPES if s in scopes),
        created_by_id=created_by_id,
        acts_as_id=acts_as_id,
    )
    session.add(client)
    session.flush()
    audit.record(
        session,
        "api_client.create",
        "api_client",
        client.id,
        {
            "name": client.name,
            "client_id": client.client_id,
            "scopes": client.scopes,
            "acts_as_id": acts_as_id,
        },
    )
    return NewClient(client=client, client_secret=secret)


def list_clients(session: Session) -> list[ApiClient]:
    return list(session.scalars(select(ApiClient).order_by(ApiClient.created_at.desc())))


def get_client(session: Session, pk: uuid.UUID) -> ApiClient:
    client = session.scalar(select(ApiClient).where(ApiClient.id == pk))
    if client is None:
        raise NotFound(N_("No such API client."))
    return client


def find_by_client_id(session: Session, client_id: str) -> ApiClient | None:
    return session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))


def secret_matches(client: ApiClient, secret: str) -> bool:
    return hmac.compare_digest(client.secret_hash, digest(secret))


def revoke_client(session: Session, client: ApiClient, now: datetime | None = None) -> None:
    """Revoke the client and every token it holds; it can get no new ones."""
    now = now or utcnow()
    if client.revoked_at is None:
        client.revoked_at = now
        audit.record(
            session,
            "api_client.revoke",
            "api_client",
            client.id,
            {"name": client.name, "client_id": client.client_id},
        )
    session.execute(
        update(ApiToken)
        .where(ApiToken.client_pk == client.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()


def new_token_string(tenant_id: uuid.UUID) -> str:
    return f"{TOKEN_PREFIX}_{tenant_id.hex}_{secrets.token_urlsafe(32)}"


def save_token(
    session: Session, client: ApiClient, access_token: str, scope: str, lifetime: timedelta
) -> ApiToken:
    now = utcnow()
    token = ApiToken(
        client_pk=client.id,
        token_hash=digest(access_token),
        scope=scope,
        issued_at=now,
        expires_at=now + lifetime,
    )
    client.last_used_at = now
    session.add(token)
    session.flush()
    audit.record(
        session,
        "api_client.token_issued",
        "api_client",
        client.id,
        {"scope": scope, "expires_at": token.expires_at},
    )
    return token


def find_token(session: Session, access_token: str) -> ApiToken | None:
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(access_token)))


def revoke_token(session: Session, token: ApiToken, now: datetime | None = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        audit.record(session, "api_client.token_revoked", "api_client", token.client_pk)
    session.flush()
