"""Single sign-on (单点登录) with a tenant's OpenID Connect provider: who a validated set of
ID-token claims signs in as (the provider's settings: ``loandesk.auth.sso_config``).

No Flask here: the web views run the authorization-code flow with authlib's Flask client
(``loandesk.auth.sso_client``) and hand the validated claims to ``sign_in``. Staff who sign in
this way skip LoanDesk's own second factor: the provider is responsible for how they
authenticate (docs/security.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import audit, events
from loandesk.auth import users
from loandesk.auth.models import User
from loandesk.auth.sso_config import enabled_config
from loandesk.auth.sso_models import SsoConfig, UserIdentity
from loandesk.db import utcnow
from loandesk.errors import ValidationFailed
from loandesk.i18n import LOCALES, N_, normalise_locale
from loandesk.rbac import service as rbac


class SignInRefused(Exception):
    """The provider vouched for someone LoanDesk does not let in, or could not vouch at all.
    ``message`` is a message id safe to show (``params`` fill it); ``reason`` and ``detail``
    go to the audit log, never to the page. Raised by OpenID Connect sign-in here and by
    plugins' sign-in providers (``loandesk.sdk.SignInRefused``)."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        email: str | None = None,
        user_id: uuid.UUID | None = None,
        detail: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message
        self.email, self.user_id = email, user_id
        self.detail = dict(detail or {})
        self.params = dict(params or {})


def record_refusal(
    session: Session, refused: SignInRefused, *, method: str = "oidc", **source: str
) -> None:
    """Audit a refused sign-in through a provider (after the caller rolled back whatever it
    had begun): ``method`` is ``oidc`` or a plugin provider's key, ``source`` says which
    provider (``issuer=``) or which account there (``subject=``)."""
    audit.record(
        session,
        "user.sign_in_failed",
        "user",
        refused.user_id,
        {
            "email": (refused.email or "")[:254],
            "method": method,
            **source,
            "reason": refused.reason,
            **refused.detail,
        },
    )


def refuse_deactivated(user: User, *, email: str | None = None) -> None:
    """``SignInRefused`` for a deactivated user, whoever vouched for them."""
    if user.status == "deactivated":
        raise SignInRefused(
            "deactivated",
            N_("Your LoanDesk account is deactivated. Ask your administrator."),
            email=email or user.email,
            user_id=user.id,
        )


def record_sign_in(
    session: Session, user: User, *, method: str, now: datetime, **source: str
) -> None:
    """Note and audit (``user.sign_in``) a sign-in a provider vouched for. Unlike a password
    sign-in it leaves the password's failure count and lock alone: the provider proved who
    this is, not that the password is known."""
    user.last_login_at = now
    session.flush()
    audit.record(
        session, "user.sign_in", "user", user.id, {"email": user.email, "method": method, **source}
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
    if user is not None:
        refuse_deactivated(user, email=email)
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
    identity.last_sign_in_at = now
    record_sign_in(session, user, method="oidc", now=now, issuer=issuer)
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
