"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from loandesk.i18n import N_

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the e-mail is unknown, so that the answer takes as long either way.
# Made on the first sign-in, not at import: a hash at full cost is most of a second of CPU
# and 64 MiB, which every worker, scheduler and CLI process paid at start for nothing.
_dummy_hash: str | None = None

MIN_LENGTH = 10
MAX_LENGTH = 128
_COMMON = frozenset(
    {
        "password123",
        "password1234",
        "1234567890",
        "12345678910",
        "qwertyuiop",
        "1qaz2wsx3edc",
        "abc1234567",
        "a123456789",
        "woaini1314",
        "iloveyou123",
        "admin12345",
        "admin123456",
        "qwerty1234",
        "zxcvbnm123",
        "1q2w3e4r5t",
        "password12",
    }
)


def use_hasher(hasher: PasswordHasher) -> None:
    """Hash with ``hasher`` from now on. The test suite hashes thousands of passwords (every
    tenant's admin, every staff member of every test) and uses argon2id at its lowest cost;
    the application never calls this."""
    global _hasher, _dummy_hash
    _hasher = hasher
    _dummy_hash = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not-a-real-password-0")
    return _dummy_hash


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problems(password: str, *, email: str = "") -> list[str]:
    """Why ``password`` is too weak (message ids); empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(N_("Use at least 10 characters."))
    if len(password) > MAX_LENGTH:
        problems.append(N_("Use at most 128 characters."))
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        problems.append(N_("Use both letters and digits."))
    local = email.split("@", 1)[0].lower()
    if password.lower() in _COMMON or (len(local) >= 4 and local in password.lower()):
        problems.append(N_("This password is too easy to guess."))
    return problems
