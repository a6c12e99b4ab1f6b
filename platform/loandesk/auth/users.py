"""Staff accounts of the current tenant: invite, edit, deactivate, sign in with lock-out."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import audit, events
from loandesk.auth.models import User
from loandesk.auth.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from loandesk.db import utcnow
from loandesk.errors import Conflict, NotFound, ValidationFailed
from loandesk.i18n import LOCALES, N_
from loandesk.rbac import org
from loandesk.rbac import service as rbac
from loandesk.rbac.catalog import ADMIN_ROLE

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
INVITE_LIFETIME = timedelta(days=7)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_problems(email: str) -> list[str]:
    if not email:
        return [N_("Enter an e-mail address.")]
    if len(email) > 254 or not _EMAIL.match(email):
        return [N_("Enter a valid e-mail address.")]
    return []


@dataclass(frozen=True)
class NewUser:
    user: User
    invite_token: str | None  # for an invited user: shown once, only its hash is stored


@dataclass(frozen=True)
class Page:
    items: list[User]
    total: int
    page: int
    per_page: int


def list_users(
    session: Session, *, page: int = 1, per_page: int = 20, include_deactivated: bool = True
) -> Page:
    query = select(User)
    if not include_deactivated:
        query = query.where(User.status != "deactivated")
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(User.created_at, User.id).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return Page(items=list(items), total=total, page=page, per_page=per_page)


def active_staff(session: Session) -> list[User]:
    """Active staff by name: the choices wherever someone is picked (an owner, a head)."""
    return list(
        session.scalars(
            select(User).where(User.status == "active").order_by(User.display_name, User.id)
        )
    )


def display_names(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The display names of these users (for columns that show who)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {row.id: row.display_name for row in rows}


def get_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.scalar(select(User).where(User.id == user_id))
    if user is None:
        raise NotFound(N_("No such user."))
    return user


def find_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    session: Session,
    *,
    email: str,
    display_name: str,
    password: str | None = None,
    is_admin: bool = False,
    roles: Iterable[str] = (),
    locale: str | None = None,
    org_unit_id: uuid.UUID | None = None,
) -> NewUser:
    """Create an active user with ``password``, or an invited one without, holding ``roles``
    (role keys; ``is_admin`` adds the tenant admin role).

    An invited user gets a one-time invitation token with which they choose their password.
    """
    email = normalise_email(email)
    errors = _profile_problems(display_name=display_name, locale=locale)
    if problems := email_problems(email):
        errors["email"] = problems
    if password is not None and (problems := password_problems(password, email=email)):
        errors["password"] = problems
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    org.check_unit(session, org_unit_id)
    if find_by_email(session, email) is not None:
        raise Conflict(
            N_("A user with this e-mail already exists."),
            errors={"email": [N_("Already in use.")]},
        )
    user = User(
        email=email,
        display_name=display_name.strip(),
        locale=locale,
        status="active" if password is not None else "invited",
        password_hash=hash_password(password) if password is not None else None,
        failed_logins=0,
        org_unit_id=org_unit_id or org.company(session).id,
    )
    token = None
    if password is None:
        token = secrets.token_urlsafe(32)
        user.invite_token_hash = _digest(token)
        user.invite_expires_at = utcnow() + INVITE_LIFETIME
    session.add(user)
    session.flush()
    role_keys = {*roles, ADMIN_ROLE} if is_admin else set(roles)
    rbac.set_user_roles(session, user.id, role_keys, audit_change=False)
    session.expire(user, ["roles"])
    events.emit(
        session, "user.created", "user", user.id, {"status": user.status, "is_admin": user.is_admin}
    )
    audit.record(
        session,
        "user.create",
        "user",
        user.id,
        {
            "email": user.email,
            "display_name": user.display_name,
            "roles": sorted(role_keys),
            "status": user.status,
            "locale": user.locale,
            "org_unit_id": user.org_unit_id,
        },
    )
    return NewUser(user=user, invite_token=token)


def update_user(
    session: Session,
    user: User,
    *,
    acting_user_id: uuid.UUID | None,
    display_name: str | None = None,
    is_admin: bool | None = None,
    roles: Iterable[str] | None = None,
    locale: str | None = None,
    status: str | None = None,
    password: str | None = None,
    org_unit_id: uuid.UUID | None = None,
) -> User:
    """Change a user; ``roles`` replaces their roles, ``is_admin`` adds or takes the tenant
    admin role. Nobody takes their own admin role or deactivates themselves, and the tenant
    keeps one active admin."""
    errors = _profile_problems(display_name=display_name, locale=locale, partial=True)
    if status is not None and status not in ("active", "deactivated"):
        errors["status"] = [N_("Choose active or deactivated.")]
    if password is not None and (problems := password_problems(password, email=user.email)):
        errors["password"] = problems
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    org.check_unit(session, org_unit_id)
    current_keys = {role.key for role in user.roles}
    new_keys = set(roles) if roles is not None else set(current_keys)
    if is_admin is True:
        new_keys.add(ADMIN_ROLE)
    elif is_admin is False:
        new_keys.discard(ADMIN_ROLE)
    losing_admin = ADMIN_ROLE in current_keys and ADMIN_ROLE not in new_keys
    if user.id == acting_user_id and (losing_admin or status == "deactivated"):
        raise ValidationFailed(
            N_("You cannot remove your own admin rights or deactivate yourself."),
            errors={"is_admin" if losing_admin else "status": [N_("Not for yourself.")]},
        )
    if status == "deactivated" and ADMIN_ROLE in current_keys:
        rbac.keep_one_admin(session, user.id)
    before = _audited(user)
    if new_keys != current_keys:
        rbac.set_user_roles(session, user.id, new_keys, audit_change=False)
        session.expire(user, ["roles"])
    if display_name is not None:
        user.display_name = display_name.strip()
    if locale is not None:
        user.locale = locale
    if org_unit_id is not None:
        user.org_unit_id = org_unit_id
    if password is not None:
        user.password_hash = hash_password(password)
        user.failed_logins, user.locked_until = 0, None
    if status == "deactivated" and user.status != "deactivated":
        user.status, user.deactivated_at = "deactivated", utcnow()
        events.emit(session, "user.deactivated", "user", user.id)
    elif status == "active" and user.status == "deactivated":
        user.status = "active" if user.password_hash else "invited"
        user.deactivated_at = None
    session.flush()
    diff = audit.changes(before, _audited(user))
    if password is not None:
        diff["password"] = [audit.REDACTED, audit.REDACTED]
    if diff:
        audit.record(session, "user.update", "user", user.id, diff)
    return user


def _audited(user: User) -> dict[str, object]:
    return {
        "display_name": user.display_name,
        "roles": sorted(role.key for role in user.roles),
        "locale": user.locale,
        "status": user.status,
        "org_unit_id": user.org_unit_id,
    }


def deactivate_user(session: Session, user: User, *, acting_user_id: uuid.UUID | None) -> User:
    """Users are never erased: records keep pointing at them. Deactivated, they cannot sign in."""
    return update_user(session, user, acting_user_id=acting_user_id, status="deactivated")


def _profile_problems(
    *, display_name: str | None, locale: str | None, partial: bool = False
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if display_name is not None or not partial:
        name = (display_name or "").strip()
        if not name:
            errors["display_name"] = [N_("Enter a name.")]
        elif len(name) > 100:
            errors["display_name"] = [N_("Use at most 100 characters.")]
    if locale is not None and locale not in LOCALES:
        errors["locale"] = [N_("Choose Chinese or English.")]
    return errors


_LOCKED = N_("Too many failed attempts. This account is locked until %(time)s.")


class SignInRefused(Exception):
    """Sign-in failed; ``message`` is safe to show (it never says whether the e-mail exists)."""

    def __init__(self, message: str, *, locked_until: datetime | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.locked_until = locked_until


def check_password(
    session: Session,
    email: str,
    password: str,
    *,
    max_failures: int,
    lock_for: timedelta,
    now: datetime | None = None,
) -> User:
    """The password step of signing in: the user whose password this is, or ``SignInRefused``.

    Failures count towards the lock-out (``max_failures`` in a row lock the account for
    ``lock_for``); while locked, even the right password is refused. The count is not reset
    here: a user with two-factor sign-in is signed in only by ``record_sign_in`` after the
    code step, so that wrong codes keep counting. The caller commits either way.
    """
    now = now or utcnow()
    user = find_by_email(session, email)
    if user is None or user.status != "active":
        verify_password(None, password)  # same time as a real check
        audit.record(
            session,
            "user.sign_in_failed",
            "user",
            user.id if user else None,
            {"email": normalise_email(email)[:254], "reason": "unknown_or_inactive"},
        )
        raise SignInRefused(N_("Wrong e-mail or password."))
    refuse_if_locked(session, user, now)
    if not verify_password(user.password_hash, password):
        count_failure(
            session, user, "password", max_failures=max_failures, lock_for=lock_for, now=now
        )
        raise SignInRefused(N_("Wrong e-mail or password."))
    from loandesk.auth import sso  # sso builds on this module

    if not sso.password_sign_in_allowed(session, user):
        audit.record(
            session,
            "user.sign_in_failed",
            "user",
            user.id,
            {"email": user.email, "reason": "sso_only"},
        )
        raise SignInRefused(N_("Your firm signs staff in through single sign-on: use its button."))
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.flush()
    return user


def refuse_if_locked(session: Session, user: User, now: datetime) -> None:
    """``SignInRefused`` (saying until when) while ``user`` is locked out; audited."""
    if user.is_locked(now):
        audit.record(
            session,
            "user.sign_in_failed",
            "user",
            user.id,
            {"email": user.email, "reason": "locked"},
        )
        raise SignInRefused(_LOCKED, locked_until=user.locked_until)


def count_failure(
    session: Session,
    user: User,
    reason: str,
    *,
    max_failures: int,
    lock_for: timedelta,
    now: datetime,
) -> None:
    """Count a failed sign-in step (a wrong password or code), audited with ``reason``; the
    ``max_failures``-th in a row locks the account and raises ``SignInRefused`` saying so."""
    user.failed_logins += 1
    locking = user.failed_logins >= max_failures
    audit.record(
        session,
        "user.sign_in_failed",
        "user",
        user.id,
        {"email": user.email, "reason": "locked_now" if locking else reason},
    )
    if locking:
        user.locked_until, user.failed_logins = now + lock_for, 0
    session.flush()
    if locking:
        raise SignInRefused(_LOCKED, locked_until=user.locked_until)


def record_sign_in(
    session: Session, user: User, *, method: str, now: datetime | None = None
) -> None:
    """Every check passed: clear the failure count, note the time, audit ``user.sign_in``
    with how (``password``, ``password+totp``, ``password+recovery_code``, ...)."""
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now or utcnow()
    session.flush()
    audit.record(session, "user.sign_in", "user", user.id, {"email": user.email, "method": method})


def change_own_password(session: Session, user: User, current: str, new: str) -> None:
    """A signed-in user changes their password; the current one must be given."""
    if not verify_password(user.password_hash, current):
        audit.record(session, "user.password_change_failed", "user", user.id)
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"current_password": [N_("This is not your password.")]},
        )
    if problems := password_problems(new, email=user.email):
        raise ValidationFailed(N_("Some fields need attention."), errors={"new_password": problems})
    user.password_hash = hash_password(new)
    session.flush()
    audit.record(session, "user.password_changed", "user", user.id)


def find_by_invite(session: Session, token: str, now: datetime | None = None) -> User:
    user = session.scalar(select(User).where(User.invite_token_hash == _digest(token)))
    if (
        user is None
        or user.status != "invited"
        or user.invite_expires_at is None
        or user.invite_expires_at < (now or utcnow())
    ):
        raise NotFound(N_("This invitation is invalid or has expired."))
    return user


def accept_invite(session: Session, token: str, password: str) -> User:
    user = find_by_invite(session, token)
    if problems := password_problems(password, email=user.email):
        raise ValidationFailed(N_("Some fields need attention."), errors={"password": problems})
    user.password_hash = hash_password(password)
    user.status, user.invite_token_hash, user.invite_expires_at = "active", None, None
    session.flush()
    audit.record(session, "user.accept_invite", "user", user.id, {"email": user.email})
    return user


def new_invite(session: Session, user: User) -> str:
    """A fresh invitation token for a user who has not accepted yet."""
    if user.status != "invited":
        raise Conflict(N_("This user has already accepted the invitation."))
    token = secrets.token_urlsafe(32)
    user.invite_token_hash, user.invite_expires_at = _digest(token), utcnow() + INVITE_LIFETIME
    session.flush()
    audit.record(session, "user.reinvite", "user", user.id, {"email": user.email})
    return token


def invitation_url(base_url: str, tenant_slug: str, token: str) -> str:
    """Where an invitee sets their password; the web route is ``/t/<slug>/invite/<token>``
    (``/invite/<token>`` in single-tenant mode)."""
    from loandesk.tenancy.paths import page_path

    return base_url.rstrip("/") + page_path(tenant_slug, f"/invite/{token}")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
