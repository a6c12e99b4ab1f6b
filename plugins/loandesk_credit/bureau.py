"""The HTTP JSON bureau API (信用数据服务商 HTTP 接口) the built-in connector implements; the
provider's side is specified in ``docs/connectors.md`` ("Credit data"). No Flask, no database.

One ``POST`` to the tenant's bureau URL per query, the body UTF-8 JSON
``{"id_number", "name", "mobile", "consent_reference", "request_id"}``, with headers:

- ``X-Api-Key``: the tenant's API key at the bureau;
- ``X-Timestamp``: Unix time in seconds, as decimal digits;
- ``X-Signature``: lowercase hex HMAC-SHA256, keyed with the secret key (UTF-8), of the method,
  the path (with its query string, if any), the timestamp and the body exactly as sent, joined
  by line feeds: ``hex(hmac_sha256(secret, "POST\\n" + path + "\\n" + timestamp + "\\n" + body))``.

The bureau answers ``200`` with ``{"code": 0, "data": {...}}``; any other status or code is a
refusal, reported with the bureau's code and message. The request goes through the core's
SSRF-safe outbound helper (the installation's policy on http and private addresses applies),
with the tenant's timeout, and no redirect is followed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from loandesk import sdk
from loandesk_credit.connectors import Connector, ConnectorError, Subject, Value

MAX_ANSWER = 64 * 1024

# the bureau's field -> (our variable, type); anything else in its answer is dropped
VARIABLES: dict[str, tuple[str, type]] = {
    "found": ("bureau_found", bool),
    "score": ("bureau_score", int),
    "overdue_count_12m": ("bureau_overdue_count_12m", int),
    "overdue_max_days_12m": ("bureau_overdue_max_days_12m", int),
    "inquiries_30d": ("bureau_inquiries_30d", int),
    "inquiries_90d": ("bureau_inquiries_90d", int),
    "lenders_90d": ("bureau_lenders_90d", int),
    "blacklisted": ("bureau_blacklisted", bool),
}


def signature(secret: str, method: str, path: str, timestamp: str, body: bytes) -> str:
    message = f"{method}\n{path}\n{timestamp}\n".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def request_body(subject: Subject) -> bytes:
    fields = {
        "id_number": subject.id_number,
        "name": subject.name,
        "mobile": subject.mobile,
        "consent_reference": subject.consent_reference,
        "request_id": subject.request_id,
    }
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def query(subject: Subject, settings: Mapping[str, Any]) -> dict[str, Value]:
    """Ask the bureau about ``subject``: the normalised variables, or ``ConnectorError``."""
    url = str(settings.get("bureau_url") or "")
    api_key, secret = settings.get("api_key"), settings.get("secret_key")
    if not url or not api_key or not secret:
        raise ConnectorError("the bureau's URL, API key and secret key are not all set")
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    body = request_body(subject)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Api-Key": str(api_key),
        "X-Timestamp": timestamp,
        "X-Signature": signature(str(secret), "POST", path, timestamp, body),
    }
    policy = sdk.OutboundPolicy.of_app()
    policy = sdk.OutboundPolicy(
        policy.allow_http, policy.allow_private, float(settings.get("timeout_seconds") or 10)
    )
    try:
        answer = sdk.outbound_post(url, body, headers, policy, limit=MAX_ANSWER)
    except sdk.DeliveryFailed as problem:
        raise ConnectorError(f"the bureau cannot be reached: {problem}") from None
    return normalise(answer.status, answer.content)


def probe(session: object) -> str:
    """The connector's test. The bureau's API has one call, a query, which costs money and
    needs a borrower's consent; so the test only shows that ``bureau_url`` answers: a
    ``HEAD`` without key or body, under the installation's outbound policy."""
    settings = sdk.plugin_settings("credit")
    url = str(settings.get("bureau_url") or "")
    if not url or not settings.get("api_key") or not settings.get("secret_key"):
        raise ConnectorError("the bureau's URL, API key and secret key are not all set")
    if problem := sdk.outbound_url_problem(url, sdk.OutboundPolicy.of_app()):
        raise ConnectorError(f"the bureau's URL is not allowed: {problem}")
    timeout = float(settings.get("timeout_seconds") or 10)
    answered = sdk.connector_reachable(url, timeout, "the bureau")
    return f"{answered}; the key is checked by each query"


def normalise(status: int, content: bytes) -> dict[str, Value]:
    """The variables of the bureau's answer; ``ConnectorError`` for a refusal or an answer
    that does not follow the spec."""
    try:
        data = json.loads(content)
    except ValueError:
        raise ConnectorError(f"HTTP {status}: the answer is not JSON") from None
    if not isinstance(data, dict):
        raise ConnectorError(f"HTTP {status}: the answer is not a JSON object")
    code, message = data.get("code"), str(data.get("message") or "")[:200]
    if status != 200 or code != 0:
        raise ConnectorError(f"HTTP {status}, code {code}: {sdk.scrub_personal(message)}")
    result = data.get("data")
    if not isinstance(result, dict):
        raise ConnectorError("HTTP 200: the answer has no data object")
    variables: dict[str, Value] = {}
    for field, (name, kind) in VARIABLES.items():
        value = result.get(field)
        if value is not None and not _typed(value, kind):
            article = "an integer" if kind is int else "a boolean"
            raise ConnectorError(f"HTTP 200: {field} is not {article}")
        variables[name] = value
    if variables["bureau_found"] is None:
        variables["bureau_found"] = True
    return variables


BUREAU = Connector("credit.bureau", "征信数据服务（HTTP）", "Credit bureau (HTTP)", query)


def _typed(value: object, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    return isinstance(value, int) and not isinstance(value, bool)
