"""A provider's JSON API on 127.0.0.1 in a thread, for the connectors' tests (DingTalk,
WeCom). ``fake.handle(method, path, query, headers, body)`` answers with the JSON data (HTTP
200) or ``(status, data, headers)`` (a login page's redirect: data None, no body);
``running(fake)`` serves it and sets ``fake.url``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit


class Fake(Protocol):
    url: str

    def handle(self, method: str, path: str, query: dict[str, str], headers: Any,
               body: bytes) -> Any: ...  # fmt: skip


F = TypeVar("F", bound=Fake)


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def _answer(self, method: str) -> None:
        parts = urlsplit(self.path)
        pairs = parse_qs(parts.query, keep_blank_values=True)
        query = {k: v[0] for k, v in pairs.items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        answer = self.server.fake.handle(method, parts.path, query, self.headers, body)
        status, data, headers = answer if isinstance(answer, tuple) else (200, answer, {})
        payload = b"" if data is None else json.dumps(data, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if data is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
            pass

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@contextmanager
def running(fake: F) -> Iterator[F]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.fake = fake  # type: ignore[attr-defined]
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
