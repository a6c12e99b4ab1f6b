"""A tenant's single sign-on provider (OpenID Connect): validated settings, the client secret
encrypted with the tenant's data keys (as plugin secrets are), every change audited."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.auth.sso_models import SsoConfig
from loandesk.db import utcnow, uuid7
from loandesk.errors import NotFound, ValidationFailed
from loandesk.i18n import N_
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
