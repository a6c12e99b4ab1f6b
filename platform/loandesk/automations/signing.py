"""The tenant's webhook signing secret (签名密钥): every webhook request carries
``X-LoanDesk-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` keyed with it, so
that a receiver can tell LoanDesk's requests from anyone else's.

One secret per tenant, made on first need (the first webhook sent, or an admin asking to see
it) from 32 random bytes, and stored only encrypted with the tenant's data keys. Admins with
``automations.manage`` reveal it, or replace it with a new one, on the automations admin
pages; both are audited (``automation.webhook_secret.reveal`` / ``.rotate``). It never goes
into a log, a run log, an audit entry or a bundle."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.automations.models import WebhookSecret
from loandesk.db import utcnow, uuid7
from loandesk.pii.keys import Keyring
from loandesk.tenancy.context import current_id

PREFIX = "whsec_"
_RECORD = "automation_webhook_secret"


@dataclass(frozen=True)
class Secret:
    """The secret in clear (for signing, or for an admin who asked), and when it was made."""

    value: str
    updated_at: datetime


def _new_value() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def _encrypt(keyring: Keyring, value: str, row_id: uuid.UUID) -> str:
    return keyring.encrypt(value, record_type=_RECORD, field="secret", record_id=row_id)


def _row(session: Session) -> WebhookSecret | None:
    return session.scalar(select(WebhookSecret).execution_options(populate_existing=True))


def made_at(session: Session) -> datetime | None:
    """When the secret in force was made (None: none yet)."""
    row = _row(session)
    return row.updated_at if row is not None else None


def current(session: Session, keyring: Keyring) -> Secret:
    """The tenant's secret, made now if it has none (two runners making it at once keep the
    first)."""
    row = _row(session)
    if row is None:
        row_id = uuid7()
        now = utcnow()
        insert = (
            postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        session.execute(
            insert(WebhookSecret)
            .values(
                tenant_id=current_id(),
                id=row_id,
                secret=_encrypt(keyring, _new_value(), row_id),
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id"])
        )
        row = _row(session)
        assert row is not None
    value = keyring.decrypt(row.secret, record_type=_RECORD, field="secret", record_id=row.id)
    return Secret(value, row.updated_at)


def reveal(session: Session, keyring: Keyring) -> Secret:
    """The secret for an admin to copy into their receiver (audited)."""
    found = current(session, keyring)
    audit.record(session, "automation.webhook_secret.reveal", "automation_webhook_secret")
    return found


def rotate(session: Session, keyring: Keyring, *, user_id: uuid.UUID | None) -> Secret:
    """Replace the secret with a new one (audited): webhooks sent from now on are signed with
    it, and receivers must switch to it."""
    current(session, keyring)
    row = _row(session)
    assert row is not None
    value = _new_value()
    row.secret = _encrypt(keyring, value, row.id)
    row.updated_at = utcnow()
    row.updated_by_id = user_id
    session.flush()
    audit.record(session, "automation.webhook_secret.rotate", "automation_webhook_secret")
    return Secret(value, row.updated_at)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 keyed with the secret (its text as UTF-8) over
    ``<timestamp>.<body>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()
