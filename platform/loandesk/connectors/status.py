"""Recording how a tenant's connectors fare: ``succeeded`` / ``failed`` write the connector's
row in their own short transaction, so a caller that rolls back still leaves the record (on
SQLite, whose one writer at a time is the caller while it holds uncommitted writes, right
after the caller's transaction ends), and never raise (a record that cannot be written is
logged, the caller's work goes on).

An error is kept as the admin will read it: every secret setting of the connector's plugin
(and, for ``webhooks``, the tenant's webhook signing secret) replaced by ``***`` — as text
and URL-encoded, as providers echo them in query strings — then personal numbers and e-mail
addresses masked (``pii.logfilter.scrub``, the scrubbing the core applies to logs and plugins
to stored errors), on one line, cut to 500 characters."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote, quote_plus

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction

from loandesk.connectors.models import ConnectorStatus
from loandesk.db import utcnow, uuid7
from loandesk.pii.logfilter import scrub as scrub_personal
from loandesk.tenancy.context import current, current_id, use

log = logging.getLogger(__name__)

WEBHOOKS = "webhooks"
ERROR_LENGTH = 500
DETAIL_LENGTH = 300
_SHORTEST_SECRET = 4  # shorter values would mask ordinary words
_DEFERRED = "loandesk.connectors.deferred"
_LISTENING = "loandesk.connectors.listening"


def secret_values(session: Session, key: str) -> list[str]:
    """The current tenant's secrets a connector's error text may echo: the secret settings
    of the plugin named by the key's first part, or the webhook signing secret."""
    from loandesk import extension
    from loandesk.pii.keys import Keyring

    ext = extension.get()
    keyring = Keyring(
        session,
        master_key=ext.settings.master_key,
        previous_master_keys=ext.settings.previous_master_keys,
    )
    if key == WEBHOOKS:
        from loandesk.automations import signing

        if signing.made_at(session) is None:
            return []
        return [signing.current(session, keyring).value]
    from loandesk.plugins import runtime, service

    host = runtime.host()
    plugin = key.partition(".")[0]
    info = host.infos.get(plugin)
    if info is None or not info.secret_fields():
        return []
    values = service.settings_for(session, host, keyring=keyring, name=plugin)
    return [str(values[name]) for name in info.secret_fields() if values.get(name)]


def scrubbed(text: str, secrets: list[str], length: int = ERROR_LENGTH) -> str:
    """``text`` without the ``secrets`` (as text and URL-encoded) and personal data, on one
    line, at most ``length`` characters."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) < _SHORTEST_SECRET:
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, "***")
    return " ".join(scrub_personal(text).split())[:length]


def succeeded(key: str, detail: str = "") -> None:
    """Record that connector ``key`` of the current tenant just worked (``detail``: what the
    provider answered, scrubbed like an error)."""
    _write(key, error=None, detail=detail)


def failed(key: str, error: BaseException | str) -> None:
    """Record that connector ``key`` of the current tenant just failed with ``error`` (its
    text is kept scrubbed of secrets and personal data, cut to 500 characters)."""
    if isinstance(error, BaseException):
        error = str(error) or type(error).__name__
    _write(key, error=error or "error", detail="")


class Tally:
    """The outcomes of a pass of many calls (an outbox sending its due messages), recorded
    once per connector at the end (``record``): its last success and its last error, the one
    that came last written last, so the state is the last outcome's. A row per call would be
    a transaction and the plugin's secrets decrypted for every message sent."""

    def __init__(self) -> None:
        self._last: dict[str, dict[str, str]] = {}  # key -> {"ok": detail, "error": text}

    def succeeded(self, key: str, detail: str = "") -> None:
        seen = self._last.setdefault(key, {})
        seen.pop("ok", None)
        seen["ok"] = detail  # last in the dict: written last

    def failed(self, key: str, error: BaseException | str) -> None:
        if isinstance(error, BaseException):
            error = str(error) or type(error).__name__
        seen = self._last.setdefault(key, {})
        seen.pop("error", None)
        seen["error"] = error or "error"

    def record(self) -> None:
        for key, seen in self._last.items():
            for kind, text in seen.items():
                if kind == "ok":
                    _write(key, error=None, detail=text)
                else:
                    _write(key, error=text, detail="")
        self._last.clear()


def _write(key: str, *, error: str | None, detail: str) -> None:
    """Now, or on SQLite while the caller's session holds the database's write lock (it has
    written and not committed), as soon as the caller's transaction ends, committed or not."""
    from loandesk import extension

    caller = extension.get().db.session()
    if _holds_write_lock(caller):
        tenant = current()  # the caller's block may have left its tenant when it rolls back

        def later() -> None:
            with use(tenant):
                _write_now(key, error=error, detail=detail)

        _after_transaction(caller, later)
    else:
        _write_now(key, error=error, detail=detail)


def _holds_write_lock(session: Session) -> bool:
    if not session.in_transaction() or session.get_bind().dialect.name != "sqlite":
        return False  # PostgreSQL: another connection writes this row without waiting
    dbapi = session.connection().connection.dbapi_connection
    return bool(getattr(dbapi, "in_transaction", False))


def _after_transaction(session: Session, write: Callable[[], None]) -> None:
    session.info.setdefault(_DEFERRED, []).append(write)
    if session.info.get(_LISTENING):
        return
    session.info[_LISTENING] = True

    def ended(ending: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is not None:
            return  # a savepoint or a subtransaction: the lock is still held
        for deferred in ending.info.pop(_DEFERRED, []):
            deferred()

    sa_event.listen(session, "after_transaction_end", ended)


def _write_now(key: str, *, error: str | None, detail: str) -> None:
    from loandesk import extension

    try:
        with extension.get().db.transaction() as session:
            secrets = secret_values(session, key)
            now = utcnow()
            if error is None:
                values = {
                    "last_success_at": now,
                    "last_success_detail": scrubbed(detail, secrets, DETAIL_LENGTH),
                    "updated_at": now,
                }
            else:
                values = {
                    "last_error_at": now,
                    "last_error": scrubbed(error, secrets),
                    "updated_at": now,
                }
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            row = {"last_success_detail": "", "last_error": "", **values}
            session.execute(
                insert(ConnectorStatus)
                .values(tenant_id=current_id(), id=uuid7(), key=key[:80], **row)
                .on_conflict_do_update(index_elements=["tenant_id", "key"], set_=values)
            )
    except Exception:  # the record is a convenience: never fail the caller's work for it
        log.exception("could not record the outcome of connector %s", key)


def of_tenant(session: Session, keys: list[str]) -> dict[str, ConnectorStatus]:
    """The current tenant's status rows of ``keys``, by key."""
    if not keys:
        return {}
    rows = session.scalars(select(ConnectorStatus).where(ConnectorStatus.key.in_(keys)))
    return {row.key: row for row in rows}
