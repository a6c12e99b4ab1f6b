"""Signed links for people without an account (a borrower's contract page): the value is
signed with the install's secret key and a purpose, so a link made for one purpose cannot be
replayed for another and any change to it is refused. Expiry and revocation are the caller's
(keep a nonce and an expiry beside the record), which lets a link be withdrawn early."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer


def _serializer(purpose: str) -> URLSafeSerializer:
    from loandesk import extension

    return URLSafeSerializer(extension.get().settings.secret_key, salt=f"loandesk.{purpose}")


def sign(purpose: str, value: Any) -> str:
    """``value`` (JSON-able) as a URL-safe signed token for ``purpose``."""
    return _serializer(purpose).dumps(value)


def read(purpose: str, token: str) -> Any | None:
    """The value signed in ``token`` for ``purpose``, or None when it was tampered with,
    signed for another purpose or with another key."""
    try:
        return _serializer(purpose).loads(token)
    except BadSignature:
        return None


def public_url(path: str) -> str:
    """``path`` (``/t/<slug>/...``) on the install's public address (``LOANDESK_BASE_URL``):
    for links sent outside a request (SMS from a job). In single-tenant mode the install's
    tenant's pages have no ``/t/<slug>`` prefix, and it is taken off here."""
    from loandesk import extension
    from loandesk.tenancy.paths import unprefixed

    return extension.get().settings.base_url.rstrip("/") + unprefixed(path)
