"""A small credit bureau for tests, speaking the API of ``docs/connectors.md`` ("Credit data"):
``POST`` on one path, the API key, the timestamp and the HMAC-SHA256 signature over method,
path, timestamp and body checked (computed here on its own from the request as received);
``received`` keeps every request that reached it, ``accepted`` the bodies it answered. The
answer is ``{"code": 0, "data": report}``; ``answers`` makes the next requests meet a failure:
``http500``, ``garbage`` (not JSON) or ``slow`` (answers after ``release`` is set)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/v1/credit/report"
REPORT = {
    "found": True,
    "score": 612,
    "overdue_count_12m": 1,
    "overdue_max_days_12m": 15,
    "inquiries_30d": 3,
    "inquiries_90d": 7,
    "lenders_90d": 4,
    "blacklisted": False,
    "report_id": "R-20250303-0001",
    "accounts": [{"lender": "某银行", "balance": 12000}],
}


@dataclass
class FakeBureau:
    api_key: str
    secret: str
    url: str = ""
    received: list[bytes] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=lambda: dict(REPORT))
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def signed(self, handler: BaseHTTPRequestHandler, body: bytes) -> bool:
        timestamp = handler.headers.get("X-Timestamp", "")
        message = b"POST\n" + handler.path.encode() + b"\n" + timestamp.encode() + b"\n" + body
        expected = hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()
        return (
            handler.headers.get("X-Api-Key") == self.api_key
            and timestamp.isdigit()
            and hmac.compare_digest(expected, handler.headers.get("X-Signature", ""))
            and handler.headers.get("Content-Type", "").startswith("application/json")
        )


def _handler(bureau: FakeBureau) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, data: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up waiting
                pass

        def _json(self, status: int, answer: dict[str, Any]) -> None:
            self._reply(status, json.dumps(answer, ensure_ascii=False).encode())

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with bureau.lock:
                bureau.received.append(body)
            if self.path != PATH:
                self._json(404, {"code": 404, "message": "no such API"})
                return
            if not bureau.signed(self, body):
                self._json(401, {"code": 401, "message": "signature mismatch"})
                return
            request = json.loads(body)
            if set(request) != {"id_number", "name", "mobile", "consent_reference", "request_id"}:
                self._json(400, {"code": 400, "message": "bad request"})
                return
            with bureau.lock:
                answer = bureau.answers.pop(0) if bureau.answers else "ok"
            if answer == "http500":
                self._json(500, {"code": 500, "message": "internal error"})
            elif answer == "garbage":
                self._reply(200, b"<html>busy</html>")
            else:
                if answer == "slow":
                    bureau.release.wait(10)
                with bureau.lock:
                    bureau.accepted.append(request)
                self._json(200, {"code": 0, "message": "ok", "data": bureau.report})

    return Handler


@contextmanager
def running(bureau: FakeBureau) -> Iterator[FakeBureau]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(bureau))
    bureau.url = f"http://127.0.0.1:{server.server_address[1]}{PATH}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield bureau
    finally:
        bureau.release.set()
        server.shutdown()
        server.server_close()
