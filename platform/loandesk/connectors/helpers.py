"""Helpers every connector plugin needs the same way (plugin-guide.md, "Helpers for
connectors"):

- ``TokenCache``: a provider's app access token, kept in the process per tenant and app
  credentials until shortly before it expires, thread-safe, forgotten on demand (the provider
  refused it), and masked in any text (``mask``);
- ``mask_request_logs``: urllib3 logs each request's URL at DEBUG; providers that take
  secrets, tokens or codes in the query string have them masked (``name=***``) before any
  handler sees the line;
- ``call_json``: one request to a provider's JSON API, every failure to get a JSON object
  back (no answer in time, no connection, HTTP other than 200, not JSON) raised as the
  plugin's "try again later" error, with a text that never holds the URL (its query may hold
  secrets);
- ``staff_page_url``: the page in LoanDesk a message to a staff member about an approval
  (``flow``) or a to-do (``todo``) opens, on the public address;
- ``in_locale``: ``force_locale`` outside a request too (jobs, the outbox): Flask-Babel reads
  the request context.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Hashable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from typing import Any

import requests
from flask import current_app, has_request_context
from flask_babel import force_locale

from loandesk.tenancy import current
from loandesk.tenancy.paths import page_url

EARLY = timedelta(minutes=5)  # a token is fetched again this long before it expires


class TokenCache:
    """Access tokens per tenant and app. The key is the current tenant, the app's
    identifying fields (``app``: base URL, app key, ...) and a hash of its secret: a changed
    secret is another app, and the cache never holds the secret itself."""

    def __init__(self, early: timedelta = EARLY) -> None:
        self.early = early
        self._tokens: dict[tuple[Hashable, ...], tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def token(
        self,
        app: tuple[Hashable, ...],
        secret: str,
        fetch: Callable[[], tuple[str, int]],
        *,
        now: datetime,
    ) -> str:
        """The held token, or a new one from ``fetch`` (``(token, expires_in seconds)``) when
        there is none or it expires within ``early`` of ``now``."""
        key = self._key(app, secret)
        with self._lock:
            held = self._tokens.get(key)
            if held is not None and held[1] - self.early > now:
                return held[0]
        value, expires_in = fetch()  # outside the lock: another tenant's call need not wait
        with self._lock:
            self._tokens[key] = (value, now + timedelta(seconds=expires_in))
        return value

    def forget(self, app: tuple[Hashable, ...], secret: str) -> None:
        """Drop the held token (the provider refused it): the next ``token`` fetches one."""
        with self._lock:
            self._tokens.pop(self._key(app, secret), None)

    def mask(self, text: str) -> str:
        """``text`` with every token held replaced by ``***`` (a provider's error message
        could echo what it was sent)."""
        with self._lock:
            for value, _expiry in self._tokens.values():
                text = text.replace(value, "***")
        return text

    @staticmethod
    def _key(app: tuple[Hashable, ...], secret: str) -> tuple[Hashable, ...]:
        tenant: uuid.UUID = current().id
        return (tenant, *app, hashlib.sha256(secret.encode()).hexdigest())


class _MaskQuery(logging.Filter):
    """Masks the values of ``names`` in query strings of urllib3's DEBUG request lines."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.pattern: re.Pattern[str] | None = None

    def add(self, names: tuple[str, ...]) -> None:
        self.names.update(names)
        alternatives = "|".join(re.escape(n) for n in sorted(self.names))
        self.pattern = re.compile(rf"\b({alternatives})=[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if self.pattern is None:
            return True
        text = record.getMessage()
        if self.pattern.search(text):
            record.msg, record.args = self.pattern.sub(r"\1=***", text), ()
        return True


_mask_query = _MaskQuery()
_mask_lock = threading.Lock()


def mask_request_logs(*names: str) -> None:
    """Mask the query parameters ``names`` (``access_token``, ``appsecret``, ...) in the
    request lines urllib3 logs at DEBUG. Call it before each request (cheap: it installs the
    filter once and adds names only when new)."""
    with _mask_lock:
        if not set(names) <= _mask_query.names:
            _mask_query.add(names)
        logger = logging.getLogger("urllib3.connectionpool")
        if _mask_query not in logger.filters:
            logger.addFilter(_mask_query)


def call_json(
    method: str,
    base_url: str,
    path: str,
    query: dict[str, str],
    body: Any,
    *,
    timeout: int,
    provider: str,
    error: type[Exception],
    secret_names: tuple[str, ...] = (),
) -> dict[str, Any]:
    """``method`` ``base_url + path`` with ``query`` and ``body`` as JSON (when there is one),
    no redirects; the JSON object answered with HTTP 200. ``error`` (the plugin's "try again
    later" exception) otherwise, its text naming ``path`` and ``provider``, never the URL.
    ``secret_names``: the query parameters masked in urllib3's DEBUG lines."""
    mask_request_logs(*secret_names)
    url = f"{base_url.rstrip('/')}{path}?{urllib.parse.urlencode(query)}"
    try:
        answer = requests.request(
            method,
            url,
            json=body,
            timeout=timeout,
            allow_redirects=False,
            headers={"Content-Type": "application/json; charset=utf-8"} if body else {},
        )
    except requests.Timeout:
        raise error(f"{path}: no answer within {timeout} s") from None
    except requests.RequestException as problem:  # its text names the URL and its secrets
        raise error(f"{path}: {provider} cannot be reached ({type(problem).__name__})") from None
    if answer.status_code != 200:
        raise error(f"{path}: HTTP {answer.status_code}")
    try:
        data = answer.json()
    except ValueError:
        raise error(f"{path}: the answer is not JSON") from None
    if not isinstance(data, dict):
        raise error(f"{path}: the answer is not a JSON object")
    return data


def staff_page_url(record_type: str | None, record_id: str | None) -> str | None:
    """The page for what a staff member's message is about (an approval: ``flow`` and the
    instance; a to-do: ``todo``), or None when it names neither."""
    slug = current().slug
    if record_type == "flow" and record_id:
        return page_url(slug, f"/approvals/{record_id}")
    if record_type == "todo":
        return page_url(slug, "/todos/")
    return None


@contextmanager
def in_locale(locale: str) -> Iterator[None]:
    """``force_locale`` outside a request too (jobs): Flask-Babel reads the request context."""
    with ExitStack() as stack:
        if not has_request_context():
            stack.enter_context(current_app.test_request_context())
        stack.enter_context(force_locale(locale))
        yield
