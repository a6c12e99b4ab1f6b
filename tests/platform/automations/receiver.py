"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 that checks each request's
signature as the user guide tells receivers to (HMAC-SHA256 of "<timestamp>.<body>" with the
tenant's secret, the timestamp no more than five minutes off), records every delivery, and
answers from a script (``answers``: status codes, then 200) or after a delay."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    signed: bool  # the signature matched the secret the receiver was given

    @property
    def data(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    secret: str = ""
    answers: list[int] = field(default_factory=list)
    delay: float = 0.0
    deliveries: list[Delivery] = field(default_factory=list)

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        stamp = headers.get("X-LoanDesk-Timestamp", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
            return False
        mac = hmac.new(self.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        return hmac.compare_digest(
            "sha256=" + mac.hexdigest(), headers.get("X-LoanDesk-Signature", "")
        )


@contextmanager
def receiver(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """The receiver, serving until the block ends (https as ``localhost`` with ``tls``)."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = dict(self.headers.items())
            signed = state.verify(headers, body)
            state.deliveries.append(Delivery(self.path, headers, body, signed))
            time.sleep(state.delay)
            status = state.answers.pop(0) if state.answers else 200
            if not signed:
                status = 401
            answer = b"bad signature" if status == 401 else f"answer {status}".encode()
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:  # the sender gave up waiting
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        state.url = f"https://localhost:{port}/hooks/loandesk"
    else:
        state.url = f"http://127.0.0.1:{port}/hooks/loandesk"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
