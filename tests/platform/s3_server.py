"""A small S3-compatible server for tests: PUT, GET, HEAD and DELETE Object in path-style
buckets, kept in memory. Like S3 it checks every request's Signature Version 4, computed here
on its own from the request as received and the secret key (not with the client's code), and
answers 403 ``SignatureDoesNotMatch`` when it differs."""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlsplit

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/s3/"
    r"aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?Signature=(?P<sig>[0-9a-f]{64})$"
)


@dataclass
class FakeS3:
    access_key: str
    secret_key: str
    region: str
    buckets: set[str]
    objects: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict)
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, status
    endpoint: str = ""

    def expected_signature(self, handler: BaseHTTPRequestHandler, signed: list[str]) -> str:
        parts = urlsplit(handler.path)
        query = "&".join(
            sorted(
                f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
            )
        )
        headers = "".join(
            f"{name}:{' '.join((handler.headers.get(name) or '').split())}\n" for name in signed
        )
        payload = handler.headers.get("x-amz-content-sha256", "")
        canonical = "\n".join(
            [handler.command, parts.path, query, headers, ";".join(signed), payload]
        )
        amz_date = handler.headers.get("x-amz-date", "")
        scope = f"{amz_date[:8]}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256",
                amz_date,
                scope,
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        key = ("AWS4" + self.secret_key).encode()
        for part in (amz_date[:8], self.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _handler(s3: FakeS3) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _error(self, status: int, code: str) -> None:
            body = f"<?xml version='1.0'?><Error><Code>{code}</Code></Error>".encode()
            self._reply(status, body if self.command != "HEAD" else b"", "application/xml")

        def _reply(self, status: int, body: bytes = b"", content_type: str = "") -> None:
            s3.requests.append((self.command, self.path, status))
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)

        def _authorised(self, body: bytes) -> bool:
            match = _AUTH.match(self.headers.get("Authorization", ""))
            if match is None or match["key"] != s3.access_key:
                self._error(403, "InvalidAccessKeyId" if match else "AccessDenied")
                return False
            signed = match["signed"].split(";")
            if "host" not in signed or "x-amz-date" not in signed:
                self._error(403, "AccessDenied")
                return False
            if hashlib.sha256(body).hexdigest() != self.headers.get("x-amz-content-sha256"):
                self._error(400, "XAmzContentSHA256Mismatch")
                return False
            expected = s3.expected_signature(self, signed)
            if not hmac.compare_digest(expected, match["sig"]):
                self._error(403, "SignatureDoesNotMatch")
                return False
            return True

        def _target(self) -> tuple[str, str] | None:
            path = unquote(urlsplit(self.path).path)
            bucket, _, key = path.lstrip("/").partition("/")
            if bucket not in s3.buckets:
                self._error(404, "NoSuchBucket")
                return None
            return bucket, key

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if not self._authorised(body):
                return
            target = self._target()
            if target is None:
                return
            if self.command == "PUT":
                content_type = self.headers.get("Content-Type", "binary/octet-stream")
                s3.objects[target] = (body, content_type)
                self._reply(200)
            elif self.command in ("GET", "HEAD"):
                if target not in s3.objects:
                    self._error(404, "NoSuchKey")
                    return
                data, content_type = s3.objects[target]
                self._reply(200, data, content_type)
            elif self.command == "DELETE":
                s3.objects.pop(target, None)
                self._reply(204)

        do_PUT = do_GET = do_HEAD = do_DELETE = _handle

    return Handler


@contextmanager
def running(s3: FakeS3) -> Iterator[FakeS3]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(s3))
    s3.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield s3
    finally:
        server.shutdown()
        server.server_close()
