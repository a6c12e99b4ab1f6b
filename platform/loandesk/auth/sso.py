"""Single sign-on (单点登录) with a tenant's OpenID Connect provider: its configuration, and who
a validated set of ID-token claims signs in as.

No Flask here: the web views run the authorization-code flow with authlib's Flask client
(``loandesk.auth.sso_client``) and hand the validated claims to ``sign_in``. Staff who sign in
this way skip LoanDesk's own second factor: the provider is responsible for how they
authenticate (docs/security.md).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import audit, events
from loandesk.auth import users
from loandesk.auth.models import User
from loandesk.auth.sso_models import SsoConfig, UserIdentity
from loandesk.db import utcnow, uuid7
from loandesk.errors import NotFound, ValidationFailed
from loandesk.i18n import LOCALES, N_, normalise_locale
from loandesk.pii.keys import Keyring
from loandesk.rbac import service as rbac

DEFAULT_SCOPES = "openid email profile"
DEFAULT_ROLE_CLAIM = "groups"
MAX_MAPPINGS = 200
_RECORD = "sso_config"  # the client secret is encrypted with the tenant's data keys
_CLAIM_PATH = re.compile(r"^[A-Za-z0-9_:/-]+(\.[A-Za-z0-9_:/-]+)*$")
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3
FIELDS = (
    "issuer",
    "client_id",
    "client_secret",
    "display_name",
    "scopes",
    "role_claim",
    "role_mapping",
    "provision_users",
    "password_sign_in",
    "enabled",
)


# --- configuration -----------------------------------------------------------------------


def get_config(session: Session) -> SsoConfig | None:
    return session.scalar(select(SsoConfig))


def require_config(session: Session) -> SsoConfig:
    config = get_config(session)
    if config is None:
        raise NotFound(N_("Single sign-on is not set up."))
    return config


def enabled_config(session: Session) -> SsoConfig | None:
    config = get_config(session)
    return config if config is not None and config.enabled else None


def client_secret(config: SsoConfig, keyring: Keyring) -> str:
    """The decrypted client secret: for talking to the provider, never for display."""
    return keyring.decrypt(
        config.client_secret, record_type=_RECORD, field="client_secret", record_id=config.id
    )


def save_config(
    session: Session,
    *,
    keyring: Keyring,
    values: Mapping[str, Any],
    acting_user_id: uuid.UUID | None,
    allow_http: bool,
) -> SsoConfig:
    """Create or replace the tenant's SSO configuration. ``client_secret`` may be left empty
    to keep the stored one. Invalid values change nothing (422 with field errors)."""
    config = get_config(session)
    known_roles = {role.key for role in rbac.list_roles(session)}
    cleaned, errors, unknown_roles = _clean(
        values, known_roles, allow_http, has_secret=config is not None
    )
    if unknown_roles:
        raise ValidationFailed(
            N_("Unknown role: %(keys)s"), params={"keys": ", ".join(unknown_roles)}, errors=errors
        )
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    creating = config is None
    if config is None:
        config = SsoConfig(id=uuid7())  # the secret's ciphertext is bound to the row id
    before = {} if creating else _audited(config)
    secret = cleaned.pop("client_secret")
    for key, value in cleaned.items():
        setattr(config, key, value)
    if secret:
        config.client_secret = keyring.encrypt(
            secret, record_type=_RECORD, field="client_secret", record_id=config.id
        )
    config.updated_by_id = acting_user_id
    config.updated_at = utcnow()
    session.add(config)
    session.flush()
    diff = audit.changes(before, _audited(config))
    if secret:
        diff["client_secret"] = [audit.REDACTED, audit.REDACTED]
    if diff or creating:
        audit.record(session, "sso.configure", "sso_config", config.id, diff)
    return config


def disable(session: Session) -> SsoConfig:
    """Hide single sign-on and let everyone use passwords again (``loandesk sso disable``: for
    when the provider is gone and nobody can sign in to change the settings)."""
    config = require_config(session)
    before = _audited(config)
    config.enabled, config.password_sign_in = False, True
    config.updated_at = utcnow()
    session.flush()
    if diff := audit.changes(before, _audited(config)):
        audit.record(session, "sso.configure", "sso_config", config.id, diff)
    return config


def delete_config(session: Session) -> None:
    """Remove the tenant's SSO configuration. Identity links stay: set up again with the same
    provider, staff sign in as the same users."""
    config = require_config(session)
    audit.record(session, "sso.delete", "sso_config", config.id, {"issuer": config.issuer})
    session.delete(config)
    session.flush()


def _audited(config: SsoConfig) -> dict[str, Any]:
    return {key: getattr(config, key) for key in FIELDS if key != "client_secret"}


def _clean(
    values: Mapping[str, Any], known_roles: set[str], allow_http: bool, *, has_secret: bool
) -> tuple[dict[str, Any], dict[str, list[str]], list[str]]:
    errors: dict[str, list[str]] = {}

    def text(name: str, limit: int, default: str = "") -> str:
        value = values.get(name)
        value = default if value is None else value
        if not isinstance(value, str):
            errors[name] = [N_("Enter text.")]
            return ""
        value = value.strip()
        if len(value) > limit:
            errors[name] = [N_("This is too long.")]
        return value

    issuer = text("issuer", 300).rstrip("/")
    if "issuer" not in errors and (problem := issuer_problem(issuer, allow_http=allow_http)):
        errors["issuer"] = [problem]
    client_id = text("client_id", 200)
    if not client_id and "client_id" not in errors:
        errors["client_id"] = [N_("Enter the client ID the provider gave you.")]
    secret = text("client_secret", 500)
    if not secret and not has_secret and "client_secret" not in errors:
        errors["client_secret"] = [N_("Enter the client secret the provider gave you.")]
    display_name = text("display_name", 60)
    if not display_name and "display_name" not in errors:
        errors["display_name"] = [N_("Enter a name for the sign-in button.")]
    scopes = text("scopes", 300, DEFAULT_SCOPES) or DEFAULT_SCOPES
    scope_list = scopes.split()
    if "scopes" not in errors:
        if not all(_SCOPE_TOKEN.match(s) for s in scope_list):
            errors["scopes"] = [N_("Separate scopes with spaces; use no quotes or backslashes.")]
        elif "openid" not in scope_list:
            errors["scopes"] = [N_('The scopes must include "openid".')]
    role_claim = text("role_claim", 100, DEFAULT_ROLE_CLAIM)
    if "role_claim" not in errors and not _CLAIM_PATH.match(role_claim):
        errors["role_claim"] = [
            N_("Enter a claim name, or a path with dots such as realm_access.roles.")
        ]
    mapping, mapping_problems, unknown_roles = _clean_mapping(
        values.get("role_mapping"), known_roles
    )
    if mapping_problems:
        errors["role_mapping"] = mapping_problems
    flags = {}
    for name, default in (
        ("provision_users", False),
        ("password_sign_in", True),
        ("enabled", False),
    ):
        value = values.get(name, default)
        if not isinstance(value, bool):
            errors[name] = [N_("Choose yes or no.")]
        flags[name] = value is True if isinstance(value, bool) else default
    if flags["enabled"] and not mapping and "role_mapping" not in errors:
        errors["role_mapping"] = [N_("Map at least one claim value to a role before enabling.")]
    cleaned = {
        "issuer": issuer,
        "client_id": client_id,
        "client_secret": secret,
        "display_name": display_name,
        "scopes": " ".join(dict.fromkeys(scope_list)),
        "role_claim": role_claim,
        "role_mapping": mapping,
        **flags,
    }
    return cleaned, errors, unknown_roles


def issuer_problem(issuer: str, *, allow_http: bool) -> str | None:
    """Why ``issuer`` cannot be an OpenID Connect issuer here, or None."""
    if not issuer:
        return N_("Enter the issuer URL of your identity provider.")
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return N_("Enter a URL such as https://sso.example.cn/realms/loans.")
    if parts.query or parts.fragment or parts.username or parts.password:
        return N_("The issuer URL has no query, fragment or password.")
    if parts.scheme == "http" and not allow_http:
        return N_("Use https: the provider's answers are trusted to sign staff in.")
    return None


def _clean_mapping(
    raw: Any, known_roles: set[str]
) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """The mapping, its problems, and the unknown role keys it names."""
    if raw is None:
        return {}, [], []
    if not isinstance(raw, Mapping):
        return {}, [N_("Map each claim value to a list of role keys.")], []
    if len(raw) > MAX_MAPPINGS:
        return {}, [N_("Map at most 200 claim values.")], []
    mapping: dict[str, list[str]] = {}
    problems: list[str] = []
    unknown_keys: set[str] = set()
    for value, keys in raw.items():
        name = str(value).strip()
        if not name or len(name) > 200:
            problems.append(N_("A claim value is empty or longer than 200 characters."))
            continue
        if isinstance(keys, str):
            keys = [keys]
        if (
            not isinstance(keys, list | tuple)
            or not keys
            or not all(isinstance(k, str) and k.strip() for k in keys)
        ):
            problems.append(N_("Give every claim value at least one role key."))
            continue
        unknown = {k.strip() for k in keys} - known_roles
        if unknown:
            unknown_keys |= unknown
            continue
        mapping[name] = sorted({k.strip() for k in keys})
    if unknown_keys:
        problems.append(N_("Map claim values only to roles that exist."))
    return mapping, list(dict.fromkeys(problems)), sorted(unknown_keys)


# --- signing in ----------------------------------------------------------------------------


class SignInRefused(Exception):
    """The provider vouched for someone LoanDesk does not let in. ``message`` is a message id
    safe to show; ``reason`` goes to the audit log."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        email: str | None = None,
        user_id: uuid.UUID | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message
        self.email, self.user_id = email, user_id
        self.detail = dict(detail or {})


def record_refusal(session: Session, refused: SignInRefused, *, issuer: str) -> None:
    """Audit a refused single sign-on (after the caller rolled back whatever it had begun)."""
    audit.record(
        session,
        "user.sign_in_failed",
        "user",
        refused.user_id,
        {
            "email": (refused.email or "")[:254],
            "method": "oidc",
            "issuer": issuer,
            "reason": refused.reason,
            **refused.detail,
        },
    )


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``realm_access.roles``); a claim whose own name contains
    the dots wins over the nested path."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def claim_values(claims: Mapping[str, Any], path: str) -> list[str]:
    """The role claim as strings: one string, or a list (numbers, such as department ids,
    count as their decimal text; anything else is ignored)."""
    value = claim_at(claims, path)
    items = value if isinstance(value, list) else [value]
    return [
        str(item)
        for item in items
        if isinstance(item, str) or (isinstance(item, int) and not isinstance(item, bool))
    ]


def roles_from_claims(config: SsoConfig, claims: Mapping[str, Any]) -> set[str]:
    return {
        key
        for value in claim_values(claims, config.role_claim)
        for key in config.role_mapping.get(value, ())
    }


def email_verified(claims: Mapping[str, Any]) -> bool:
    # Some providers send the string "true" (OIDC says boolean).
    return claims.get("email_verified") in (True, "true")


def sign_in(
    session: Session, config: SsoConfig, claims: Mapping[str, Any], *, now: datetime | None = None
) -> User:
    """The user that validated ID-token claims (issuer ``iss``, subject ``sub``) sign in as.

    Found by the identity link; else by a verified e-mail address, and linked; else created
    when the configuration provisions users. Their roles are set from the role claim on every
    sign-in. Raises ``SignInRefused`` for nobody to sign in as, a deactivated user, or claims
    that map to no role; the caller rolls back and calls ``record_refusal``.
    """
    now = now or utcnow()
    issuer, subject = str(claims.get("iss") or ""), str(claims.get("sub") or "")
    if not issuer or not subject:
        raise SignInRefused("invalid_token", N_("The identity provider's answer was incomplete."))
    raw_email = claims.get("email")
    email = users.normalise_email(raw_email) if isinstance(raw_email, str) else ""
    verified = bool(email) and email_verified(claims)
    # A role deleted since the mapping was saved is skipped, not an error.
    role_keys = roles_from_claims(config, claims) & {r.key for r in rbac.list_roles(session)}
    identity = session.scalar(
        select(UserIdentity).where(UserIdentity.issuer == issuer, UserIdentity.subject == subject)
    )
    user = None
    linked_by = None
    if identity is not None:
        user = session.scalar(select(User).where(User.id == identity.user_id))
    elif verified:
        user = users.find_by_email(session, email)
        linked_by = "email" if user is not None else None
    if user is None:
        if not config.provision_users:
            raise SignInRefused(
                "no_account",
                N_("You have no LoanDesk account yet. Ask your administrator to invite you."),
                email=email,
            )
        if not verified:
            raise SignInRefused(
                "email_unverified",
                N_(
                    "Your identity provider has not confirmed your e-mail address, so no account "
                    "can be created for you. Ask your administrator."
                ),
                email=email,
            )
    who: dict[str, Any] = {"email": email or (user.email if user else None)}
    who["user_id"] = user.id if user else None
    if user is not None and user.status == "deactivated":
        raise SignInRefused(
            "deactivated",
            N_("Your LoanDesk account is deactivated. Ask your administrator."),
            **who,
        )
    if not role_keys:
        raise SignInRefused(
            "no_role",
            N_(
                "Your account at the identity provider has no group or role that gives access to "
                "LoanDesk. Ask your administrator."
            ),
            detail={"claim_values": claim_values(claims, config.role_claim)[:20]},
            **who,
        )
    if user is None:
        user = _provision(session, claims, email, role_keys)
        linked_by = "provisioned"
    elif {role.key for role in user.roles} != role_keys:
        try:
            rbac.set_user_roles(session, user.id, role_keys)
        except ValidationFailed:  # the provider would take the tenant's last admin's role
            raise SignInRefused(
                "last_admin",
                N_(
                    "Your roles at the identity provider would leave the firm without an admin. "
                    "Sign in with your password, or ask for the admin role at the provider."
                ),
                **who,
            ) from None
        session.expire(user, ["roles"])
    if identity is None:
        identity = UserIdentity(user_id=user.id, issuer=issuer, subject=subject)
        session.add(identity)
        audit.record(
            session,
            "user.identity_link",
            "user",
            user.id,
            {"issuer": issuer, "subject": subject, "by": linked_by},
        )
    if user.status == "invited":  # the provider vouched for them: no password is needed
        user.status, user.invite_token_hash, user.invite_expires_at = "active", None, None
        audit.record(session, "user.accept_invite", "user", user.id, {"method": "oidc"})
    identity.last_sign_in_at = user.last_login_at = now
    session.flush()
    audit.record(
        session,
        "user.sign_in",
        "user",
        user.id,
        {"email": user.email, "method": "oidc", "issuer": issuer},
    )
    return user


def _provision(
    session: Session, claims: Mapping[str, Any], email: str, role_keys: set[str]
) -> User:
    if users.email_problems(email):
        raise SignInRefused(
            "email_invalid",
            N_("Your identity provider sent an e-mail address LoanDesk cannot use."),
            email=email,
        )
    name = next(
        (
            str(claims[key]).strip()
            for key in ("name", "preferred_username", "nickname")
            if isinstance(claims.get(key), str) and str(claims[key]).strip()
        ),
        email.split("@", 1)[0],
    )[:100]
    locale = normalise_locale(
        claims.get("locale") if isinstance(claims.get("locale"), str) else None
    )
    user = User(
        email=email,
        display_name=name,
        status="active",
        password_hash=None,
        locale=locale if locale in LOCALES else None,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    rbac.set_user_roles(session, user.id, role_keys, audit_change=False)
    session.expire(user, ["roles"])
    events.emit(
        session, "user.created", "user", user.id, {"status": "active", "is_admin": user.is_admin}
    )
    audit.record(
        session,
        "user.create",
        "user",
        user.id,
        {
            "email": email,
            "display_name": name,
            "roles": sorted(role_keys),
            "status": "active",
            "locale": user.locale,
            "method": "oidc",
        },
    )
    return user


def password_sign_in_allowed(session: Session, user: User) -> bool:
    """False when the tenant signs staff in through its provider only; its admins may always
    use their password (to reach the settings when the provider is down)."""
    config = enabled_config(session)
    return config is None or config.password_sign_in or user.is_admin
