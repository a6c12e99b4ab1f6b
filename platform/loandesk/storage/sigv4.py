"""AWS Signature Version 4 (the request signing S3 and S3-compatible stores check), written
from the published algorithm: a canonical request, a string to sign over its hash, and an
HMAC-SHA256 chain from the secret key through the date, region and service.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNRESERVED = "-_.~"


def uri_encode(text: str, *, slash: bool = False) -> str:
    """Percent-encode every byte but the unreserved characters (and ``/`` when ``slash``)."""
    return quote(text, safe=UNRESERVED + ("/" if slash else ""))


def canonical_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(sorted(f"{uri_encode(k)}={uri_encode(v)}" for k, v in pairs))


def canonical_request(
    method: str, path: str, query: str, headers: Mapping[str, str], payload_hash: str
) -> tuple[str, str]:
    """The canonical request and its signed-header list. ``path`` is already URI-encoded
    (S3 encodes a key once), ``headers`` are the ones to sign."""
    lowered = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    signed = ";".join(sorted(lowered))
    lines = "".join(f"{k}:{lowered[k]}\n" for k in sorted(lowered))
    request = "\n".join(
        [method.upper(), path or "/", canonical_query(query), lines, signed, payload_hash]
    )
    return request, signed


def signing_key(secret_key: str, datestamp: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret_key}".encode()
    for part in (datestamp, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signature(secret_key: str, amz_date: str, region: str, service: str, canonical: str) -> str:
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = signing_key(secret_key, amz_date[:8], region, service)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def sign(
    method: str,
    url: str,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    service: str = "s3",
    headers: Mapping[str, str] | None = None,
    payload_hash: str = EMPTY_SHA256,
    content_sha256_header: bool = True,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers to send with the request: ``headers`` plus ``Host``, ``X-Amz-Date``,
    ``X-Amz-Content-Sha256`` (S3 wants it; other services do not) and ``Authorization``.
    Every given header is signed."""
    parts = urlsplit(url)
    amz_date = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    to_sign = {"host": parts.netloc, "x-amz-date": amz_date}
    if content_sha256_header:
        to_sign["x-amz-content-sha256"] = payload_hash
    to_sign.update({k.lower(): v for k, v in (headers or {}).items()})
    canonical, signed = canonical_request(method, parts.path, parts.query, to_sign, payload_hash)
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    found = signature(secret_key, amz_date, region, service, canonical)
    result = {k.title() if k != "host" else "Host": v for k, v in to_sign.items()}
    result["Authorization"] = (
        f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={found}"
    )
    return result
