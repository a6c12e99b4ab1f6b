"""The HTTP protocol of the gateway, without Flask or the database: the body rendered from the
tenant's template, the request signed, sent, and the answer read by the tenant's success rule.

One ``POST`` to the gateway URL per message, the body UTF-8 JSON, with these headers:

- ``X-LoanDesk-Account``: the account (app) id;
- ``X-LoanDesk-Timestamp``: Unix time in seconds, as decimal digits;
- ``X-LoanDesk-Signature``: lowercase hex HMAC-SHA256, keyed with the secret key (its UTF-8
  bytes), of the timestamp, a line feed and the body exactly as sent:
  ``hex(hmac_sha256(secret, timestamp + "\\n" + body))``;
- ``Idempotency-Key``: the message's key, the same on every retry of the message.

The gateway should refuse a wrong signature and a timestamp far from its clock, and answer a
request whose idempotency key it has seen with its first answer, without sending again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
PLACEHOLDERS = ("account", "mobile", "content", "signature", "key", "timestamp")
FIELD_PATH = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")


class GatewayError(Exception):
    """The gateway did not take the message (no answer, an HTTP error, or a refusal); the
    outbox tries again later."""


@dataclass(frozen=True)
class Gateway:
    url: str
    account: str
    secret: str
    timeout: int
    success_field: str
    success_value: str
    id_field: str = ""


def render(template: str, values: Mapping[str, str | int]) -> bytes:
    """The body: ``template`` parsed as JSON, every ``{{name}}`` in its strings replaced by the
    value, serialised again, so that a value can never break out of its string. A string that
    is one placeholder and nothing else takes the value as it is (``{{timestamp}}`` is then a
    number)."""

    def fill(node: Any) -> Any:
        if isinstance(node, str):
            whole = PLACEHOLDER.fullmatch(node.strip())
            if whole:
                return values[whole.group(1)]
            return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), node)
        if isinstance(node, list):
            return [fill(item) for item in node]
        if isinstance(node, dict):
            return {name: fill(value) for name, value in node.items()}
        return node

    filled = fill(json.loads(template))
    return json.dumps(filled, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def post(gateway: Gateway, body: bytes, *, timestamp: str, key: str) -> str:
    """Send one message; the gateway's id for it (empty without ``id_field``).
    ``GatewayError`` when the gateway did not take it."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-LoanDesk-Account": gateway.account,
        "X-LoanDesk-Timestamp": timestamp,
        "X-LoanDesk-Signature": signature(gateway.secret, timestamp, body),
        "Idempotency-Key": key,
    }
    try:
        answer = requests.post(
            gateway.url, data=body, headers=headers, timeout=gateway.timeout, allow_redirects=False
        )
    except requests.Timeout:
        raise GatewayError(f"no answer within {gateway.timeout} s") from None
    except requests.RequestException as problem:  # its text names the URL: leave it out
        raise GatewayError(f"the gateway cannot be reached ({type(problem).__name__})") from None
    if not 200 <= answer.status_code < 300:
        raise GatewayError(f"HTTP {answer.status_code}: {_excerpt(answer.text)}")
    try:
        data = answer.json()
    except ValueError:
        raise GatewayError(f"the answer is not JSON: {_excerpt(answer.text)}") from None
    found = _as_text(field(data, gateway.success_field))
    if found != gateway.success_value:
        raise GatewayError(
            f"{gateway.success_field} is {found}, not {gateway.success_value}: "
            f"{_excerpt(answer.text)}"
        )
    provider_id = field(data, gateway.id_field) if gateway.id_field else None
    return "" if provider_id is None else _as_text(provider_id)


def field(data: Any, path: str) -> Any:
    """The value at a dotted ``path`` (``result.code``, ``data.0.msgid``); None if absent."""
    for step in path.split("."):
        if isinstance(data, dict):
            data = data.get(step)
        elif isinstance(data, list) and step.isdigit() and int(step) < len(data):
            data = data[int(step)]
        else:
            return None
    return data


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _excerpt(text: str) -> str:
    return " ".join(text.split())[:300]
