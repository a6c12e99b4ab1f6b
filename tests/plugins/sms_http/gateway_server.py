"""A small SMS gateway for tests, speaking the protocol of ``loandesk_sms_http.gateway``: it
takes ``POST`` on one path, checks the account, the timestamp and the HMAC-SHA256 signature
(computed here on its own from the request as received), keeps each message it takes once per
idempotency key, and answers ``{"code": 0, "data": {"msgid": ...}}``. ``answers`` makes the
next requests meet a failure: ``http500``, ``refuse`` (``code`` 1001, naming the mobile as such
gateways do) or ``slow`` (takes the message, then answers only after ``release`` is set)."""

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

PATH = "/api/sms/send"


@dataclass
class FakeGateway:
    account: str
    secret: str
    url: str = ""
    accepted: list[dict[str, Any]] = field(default_factory=list)  # bodies, once per key
    requests: list[str] = field(default_factory=list)  # idempotency keys of signed requests
    answers: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    ids: dict[str, str] = field(default_factory=dict)  # idempotency key -> message id
    lock: threading.Lock = field(default_factory=threading.Lock)

    def signed(self, handler: BaseHTTPRequestHandler, body: bytes) -> bool:
        timestamp = handler.headers.get("X-LoanDesk-Timestamp", "")
        expected = hmac.new(
            self.secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256
        ).hexdigest()
        return (
            handler.headers.get("X-LoanDesk-Account") == self.account
            and timestamp.isdigit()
            and hmac.compare_digest(expected, handler.headers.get("X-LoanDesk-Signature", ""))
            and bool(handler.headers.get("Idempotency-Key"))
            and handler.headers.get("Content-Type", "").startswith("application/json")
        )

    def take(self, key: str, body: dict[str, Any]) -> str:
        with self.lock:
            if key not in self.ids:
                self.accepted.append(body)
                self.ids[key] = f"gw-{len(self.ids) + 1}"
            return self.ids[key]


def _handler(gateway: FakeGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, answer: dict[str, Any]) -> None:
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up waiting
                pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != PATH:
                self._reply(404, {"code": 404, "msg": "no such API"})
                return
            if not gateway.signed(self, body):
                self._reply(401, {"code": 401, "msg": "signature mismatch"})
                return
            key = self.headers["Idempotency-Key"]
            message = json.loads(body)
            with gateway.lock:
                gateway.requests.append(key)
                answer = gateway.answers.pop(0) if gateway.answers else "ok"
            if answer == "http500":
                self._reply(500, {"code": 500, "msg": "internal error"})
            elif answer == "refuse":
                self._reply(200, {"code": 1001, "msg": f"invalid mobile {message['mobile']}"})
            else:
                message_id = gateway.take(key, message)
                if answer == "slow":
                    gateway.release.wait(10)
                self._reply(200, {"code": 0, "msg": "ok", "data": {"msgid": message_id}})

    return Handler


@contextmanager
def running(gateway: FakeGateway) -> Iterator[FakeGateway]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(gateway))
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}{PATH}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        gateway.release.set()
        server.shutdown()
        server.server_close()
