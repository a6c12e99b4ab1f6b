"""Two-factor sign-in (两步验证): time-based one-time codes (TOTP, RFC 6238) from an
authenticator app, and one-time recovery codes for a lost phone.

The secret is encrypted with the tenant's data key (``loandesk.pii.keys``), bound to the user's
row. A code is accepted for the current 30-second step or one step either side (clock drift),
and only for a step later than the last accepted one: a code is never accepted twice, and the
check-and-set is one conditional UPDATE, so two requests racing with the same code cannot both
win. Time comes in as an argument (``now``): callers own the clock.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import pyotp
import segno
from markupsafe import Markup
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from loandesk import audit
from loandesk.auth import users
from loandesk.auth.models import RecoveryCode, User
from loandesk.auth.passwords import verify_password
from loandesk.errors import Conflict, Forbidden, ValidationFailed
from loandesk.i18n import N_
from loandesk.pii.keys import Keyring

STEP_SECONDS = 30
DRIFT_STEPS = 1  # a code of the step before or after the current one is accepted too
DIGITS = 6
RECOVERY_CODE_COUNT = 10
# 31 letters and digits without 0/o, 1/i/l; 16 of them make about 79 bits.
_RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_RECOVERY_LENGTH = 16
_RECORD_TYPE, _FIELD = "users", "totp_secret"  # what the ciphertext is bound to

Method = Literal["totp", "recovery_code"]
_WRONG = N_("This code is not right. Enter the newest code from your app.")


class CodeRefused(ValidationFailed):
    """A wrong, replayed or missing code; ``reason`` is ``missing``, ``wrong`` or ``replayed``.
    The field error is on ``code``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(N_("Some fields need attention."), errors={"code": [message]})
        self.reason = reason


@dataclass(frozen=True)
class Enrolment:
    """What the user needs to add the account to an authenticator app."""

    secret: str
    uri: str  # otpauth://totp/...: what the QR code holds

    @property
    def grouped_secret(self) -> str:
        """The secret in groups of four, for typing it in by hand."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))

    def qr_svg(self, title: str) -> Markup:
        """The QR code as an inline ``<svg>`` (no script, no style: fine under the CSP)."""
        qr = segno.make(self.uri, error="m")
        svg = qr.svg_inline(scale=5, border=4, dark="#000", light="#fff", title=title)
        return Markup(svg)  # noqa: S704  (segno's own markup; the title is escaped by segno)


# --- enrolment -----------------------------------------------------------------------------


def begin_enrolment(session: Session, user: User, *, keyring: Keyring, issuer: str) -> Enrolment:
    """Give ``user`` a new secret, stored encrypted; two-factor sign-in is not on until
    ``confirm_enrolment`` sees a code made with it. Starting again replaces the secret."""
    if user.two_factor_enabled:
        raise Conflict(N_("Two-factor sign-in is already on."))
    secret = pyotp.random_base32()  # 32 characters: 160 bits, as RFC 4226 recommends
    user.totp_secret_enc = _encrypt(keyring, user, secret)
    user.totp_last_step = None
    session.flush()
    return Enrolment(secret, _uri(secret, user, issuer))


def pending_enrolment(user: User, *, keyring: Keyring, issuer: str) -> Enrolment | None:
    """The enrolment begun and not yet confirmed, if any (a page reload shows the same QR)."""
    if user.two_factor_enabled or user.totp_secret_enc is None:
        return None
    secret = _decrypt(keyring, user)
    return Enrolment(secret, _uri(secret, user, issuer))


def confirm_enrolment(
    session: Session, user: User, code: str, *, keyring: Keyring, now: datetime
) -> list[str]:
    """Turn two-factor sign-in on once ``code`` shows that the app holds the secret. Returns
    the new recovery codes: shown once, only their hashes are kept."""
    if user.two_factor_enabled:
        raise Conflict(N_("Two-factor sign-in is already on."))
    if user.totp_secret_enc is None:
        raise Conflict(N_("Start setting up two-factor sign-in first."))
    _accept_totp(session, user, _decrypt(keyring, user), _normalise(code), now)
    user.totp_enabled_at = now
    session.flush()
    codes = _replace_recovery_codes(session, user, now)
    audit.record(session, "user.two_factor_enabled", "user", user.id, {"email": user.email})
    return codes


# --- checking a code -----------------------------------------------------------------------


def check_code(
    session: Session, user: User, code: str, *, keyring: Keyring, now: datetime
) -> Method:
    """Accept a code from the user's app or one of their recovery codes (which is then used
    up, and audited); ``CodeRefused`` otherwise. Returns which kind it was."""
    if not user.two_factor_enabled:
        raise Conflict(N_("Two-factor sign-in is not on for this account."))
    normalised = _normalise(code)
    if re.fullmatch(rf"\d{{{DIGITS}}}", normalised):
        _accept_totp(session, user, _decrypt(keyring, user), normalised, now)
        return "totp"
    _use_recovery_code(session, user, normalised, now)
    return "recovery_code"


def sign_in_with_code(
    session: Session,
    user: User,
    code: str,
    *,
    keyring: Keyring,
    max_failures: int,
    lock_for: timedelta,
    now: datetime,
) -> Method:
    """The code step of signing in, after the password. A locked account is refused
    (``SignInRefused``); a wrong or replayed code counts towards the lock-out like a wrong
    password (``CodeRefused``, or ``SignInRefused`` when it locks). The caller commits either
    way, then signs the user in with ``users.record_sign_in``."""
    users.refuse_if_locked(session, user, now)
    try:
        return check_code(session, user, code, keyring=keyring, now=now)
    except CodeRefused as refused:
        if refused.reason != "missing":
            reason = "code_replayed" if refused.reason == "replayed" else "code"
            users.count_failure(
                session, user, reason, max_failures=max_failures, lock_for=lock_for, now=now
            )
        raise


def _accept_totp(session: Session, user: User, secret: str, code: str, now: datetime) -> None:
    if not code:
        raise CodeRefused("missing", N_("Enter the 6-digit code from your app."))
    step = _matching_step(secret, code, now)
    if step is None:
        raise CodeRefused("wrong", _WRONG)
    # Compare-and-set in the database: of two requests with the same code, one wins.
    result = session.execute(
        update(User)
        .where(
            User.tenant_id == user.tenant_id,
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise CodeRefused(
            "replayed", N_("This code has already been used. Wait for the next code from your app.")
        )
    set_committed_value(user, "totp_last_step", step)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is, within the drift, newest first; None if none."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current + DRIFT_STEPS, current - DRIFT_STEPS - 1, -1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _use_recovery_code(session: Session, user: User, code: str, now: datetime) -> None:
    if not code:
        raise CodeRefused("missing", N_("Enter the 6-digit code from your app or a recovery code."))
    wrong = CodeRefused("wrong", N_("This recovery code is not right or has already been used."))
    if len(code) != _RECOVERY_LENGTH or set(code) - set(_RECOVERY_ALPHABET):
        raise wrong
    result = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _digest(user, code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise wrong
    audit.record(
        session,
        "user.recovery_code_used",
        "user",
        user.id,
        {"email": user.email, "remaining": recovery_codes_left(session, user)},
    )


# --- recovery codes, turning off, admin reset ----------------------------------------------


def recovery_codes_left(session: Session, user: User) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def regenerate_recovery_codes(
    session: Session, user: User, code: str, *, keyring: Keyring, now: datetime
) -> list[str]:
    """New recovery codes for a user who proves it with a current code; the old ones stop
    working."""
    check_code(session, user, code, keyring=keyring, now=now)
    codes = _replace_recovery_codes(session, user, now)
    audit.record(session, "user.recovery_codes_regenerated", "user", user.id)
    return codes


def disable(
    session: Session, user: User, *, password: str, code: str, keyring: Keyring, now: datetime
) -> None:
    """The user turns two-factor sign-in off, with their password and a current code."""
    if not user.two_factor_enabled:
        raise Conflict(N_("Two-factor sign-in is not on for this account."))
    if not verify_password(user.password_hash, password):
        audit.record(session, "user.two_factor_disable_failed", "user", user.id)
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"password": [N_("This is not your password.")]},
        )
    try:
        check_code(session, user, code, keyring=keyring, now=now)
    except CodeRefused:
        audit.record(session, "user.two_factor_disable_failed", "user", user.id)
        raise
    _clear(session, user)
    audit.record(session, "user.two_factor_disabled", "user", user.id, {"email": user.email})


def reset(session: Session, user: User, *, acting_user_id: uuid.UUID | None) -> None:
    """An admin takes a user's two-factor sign-in away (lost phone and codes): the user
    signs in with the password alone, or enrols again where the firm requires it."""
    if acting_user_id is not None and acting_user_id == user.id:
        raise Forbidden(N_("Turn off your own two-factor sign-in on your account page."))
    if user.totp_secret_enc is None and not recovery_codes_left(session, user):
        raise Conflict(N_("This user has no two-factor sign-in to reset."))
    was_enabled = user.two_factor_enabled
    _clear(session, user)
    audit.record(
        session,
        "user.two_factor_reset",
        "user",
        user.id,
        {"email": user.email, "was_enabled": was_enabled},
    )


def _clear(session: Session, user: User) -> None:
    user.totp_secret_enc = user.totp_enabled_at = user.totp_last_step = None
    session.execute(
        delete(RecoveryCode)
        .where(RecoveryCode.user_id == user.id)
        .execution_options(synchronize_session=False)
    )
    session.flush()


def _replace_recovery_codes(session: Session, user: User, now: datetime) -> list[str]:
    session.execute(
        delete(RecoveryCode)
        .where(RecoveryCode.user_id == user.id)
        .execution_options(synchronize_session=False)
    )
    codes: list[str] = []
    while len(codes) < RECOVERY_CODE_COUNT:
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        if raw not in codes:
            codes.append(raw)
    session.add_all(
        RecoveryCode(user_id=user.id, code_hash=_digest(user, raw), created_at=now) for raw in codes
    )
    session.flush()
    return ["-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4)) for raw in codes]


# --- helpers -------------------------------------------------------------------------------


def _normalise(code: str) -> str:
    """Spaces and hyphens out, lowercase: ``123 456`` and ``ABCD-efgh-...`` are accepted."""
    return re.sub(r"[\s-]", "", code or "").lower()[:64]


def _digest(user: User, code: str) -> str:
    return hashlib.sha256(f"{user.id}:{code}".encode()).hexdigest()


def _uri(secret: str, user: User, issuer: str) -> str:
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    return totp.provisioning_uri(name=user.email, issuer_name=issuer)


def _encrypt(keyring: Keyring, user: User, secret: str) -> str:
    return keyring.encrypt(secret, record_type=_RECORD_TYPE, field=_FIELD, record_id=user.id)


def _decrypt(keyring: Keyring, user: User) -> str:
    assert user.totp_secret_enc is not None
    return keyring.decrypt(
        user.totp_secret_enc, record_type=_RECORD_TYPE, field=_FIELD, record_id=user.id
    )
